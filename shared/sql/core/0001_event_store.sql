-- The event store, its transactional outbox and idempotency keys (docs/ARCHITECTURE.md "Event store").
CREATE TABLE events (
    stream_id   text        NOT NULL,
    version     integer     NOT NULL CHECK (version > 0),
    position    bigint      GENERATED ALWAYS AS IDENTITY,
    type        text        NOT NULL,
    envelope    jsonb       NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, version)
);
CREATE UNIQUE INDEX events_position ON events (position);

-- one row per command that carried a key: a retry finds the first outcome
CREATE TABLE idempotency (
    key           text        PRIMARY KEY,
    stream_id     text        NOT NULL,
    first_version integer     NOT NULL,
    last_version  integer     NOT NULL,
    position      bigint      NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);

-- a commit waiting for the relay; deleted once Kafka acknowledged it
CREATE TABLE outbox (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id     text        NOT NULL,
    first_version integer     NOT NULL,
    position      bigint      NOT NULL,
    envelopes     jsonb       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_stream ON outbox (stream_id, id);

-- One command, one statement: check the expected version, claim the idempotency key, append the events and the
-- outbox row, wake the relay. A version conflict raises SQLSTATE CF409, a used key CF200 with the first
-- outcome as JSON in the message; both abort the caller's transaction (its read-model writes included).
CREATE FUNCTION append_events(p_stream text, p_expected integer, p_envelopes jsonb, p_key text)
RETURNS TABLE (first_version integer, last_version integer, commit_position bigint)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_current integer;
    v_count   integer := jsonb_array_length(p_envelopes);
    v_earlier idempotency%ROWTYPE;
BEGIN
    IF p_key IS NOT NULL THEN
        INSERT INTO idempotency (key, stream_id, first_version, last_version, position)
        VALUES (p_key, p_stream, p_expected + 1, p_expected + v_count, 0)
        ON CONFLICT (key) DO NOTHING;
        IF NOT FOUND THEN
            SELECT * INTO v_earlier FROM idempotency i WHERE i.key = p_key;
            RAISE EXCEPTION USING ERRCODE = 'CF200', MESSAGE = json_build_object(
                'stream_id', v_earlier.stream_id, 'first_version', v_earlier.first_version,
                'last_version', v_earlier.last_version, 'position', v_earlier.position)::text;
        END IF;
    END IF;
    SELECT max(e.version) INTO v_current FROM events e WHERE e.stream_id = p_stream;
    IF coalesce(v_current, 0) <> p_expected THEN
        RAISE EXCEPTION USING ERRCODE = 'CF409',
            MESSAGE = format('stream %s is at version %s, not %s', p_stream, coalesce(v_current, 0), p_expected);
    END IF;
    WITH appended AS (
        INSERT INTO events (stream_id, version, type, envelope)
        SELECT p_stream, p_expected + t.ord, t.e ->> 'type', t.e
        FROM jsonb_array_elements(p_envelopes) WITH ORDINALITY AS t(e, ord)
        RETURNING events.position
    )
    SELECT min(a.position) INTO commit_position FROM appended a;
    IF p_key IS NOT NULL THEN
        UPDATE idempotency SET position = commit_position WHERE key = p_key;
    END IF;
    INSERT INTO outbox (stream_id, first_version, position, envelopes)
    VALUES (p_stream, p_expected + 1, commit_position, p_envelopes);
    PERFORM pg_notify(current_schema() || '.outbox', '');
    first_version := p_expected + 1;
    last_version := p_expected + v_count;
    RETURN NEXT;
END
$$;

-- ids of events a consumer group has handled
CREATE TABLE inbox (
    consumer   text        NOT NULL,
    event_id   text        NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- personal data, encrypted per person; erasing a person deletes the key (crypto-shredding)
CREATE TABLE person_keys (
    ref text  PRIMARY KEY,
    key bytea NOT NULL
);
CREATE TABLE persons (
    ref        text        PRIMARY KEY,
    blob       bytea       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- read models: the column layout each was built with; a changed layout is dropped and replayed from the events
CREATE TABLE read_models (
    name        text PRIMARY KEY,
    fingerprint text NOT NULL
);
