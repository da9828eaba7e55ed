-- The waived share is an exact decimal to a whole percent (shared.contracts.common.Share), not a binary float.
ALTER TABLE fee_waivers ALTER COLUMN waiver TYPE numeric(3, 2) USING round(waiver::numeric, 2);
