-- Fee waivers legal aid granted (flow 7): one row per person, notary matter and aid case.
CREATE TABLE fee_waivers (
    person_ref    text             NOT NULL,
    notary_matter text             NOT NULL,
    aid_case_id   text             NOT NULL,
    waiver        double precision NOT NULL CHECK (waiver > 0 AND waiver <= 1),
    granted_at    timestamptz,
    event_id      text             NOT NULL,
    PRIMARY KEY (person_ref, notary_matter, aid_case_id)
);
