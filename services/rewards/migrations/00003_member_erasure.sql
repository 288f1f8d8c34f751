-- +goose Up

-- Members the ledger erased (ledger.member.erased). Their redemptions and coupons stay,
-- under the pseudonymous member id, so that they remain countable; what could still
-- act for them, a sealed coupon code, is wiped at the erasure and never kept again
-- (a redemption a crashed call left behind may complete after it).
CREATE TABLE erased_members (
    member_id uuid        PRIMARY KEY,
    erased_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE erased_members;
