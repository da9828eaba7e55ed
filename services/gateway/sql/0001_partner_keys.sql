-- A partner's Idempotency-Key and the event it produced (key = "<partner>:<key>").
CREATE TABLE partner_keys (
    key         text        PRIMARY KEY,
    fingerprint text        NOT NULL,
    envelope    text        NOT NULL,
    produced    boolean     NOT NULL DEFAULT false,
    at          timestamptz NOT NULL DEFAULT now()
);
