package main

// postedPointsQuery sums the points the ledger has credited for purchases: the
// programme's issued account gives what members receive.
const postedPointsQuery = `SELECT coalesce(sum(amount), 0)::bigint FROM ledger.postings WHERE source = 'program:issued'`
