package ledgerv1
