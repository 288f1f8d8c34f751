package main

// postedPointsQuery sums the points the ledger has credited for purchases; it reads the
// ledger's own table because the benchmark measures until the ledger has posted, not
// until a read model has caught up.
const postedPointsQuery = `SELECT coalesce(sum(points), 0)::bigint FROM ledger.purchases`
