-- A keyed digest of each person's plaintext, so registering a person already on file with the same data writes
-- nothing (the ciphertext differs on every encryption, so it cannot be compared).
ALTER TABLE persons ADD COLUMN digest text;
