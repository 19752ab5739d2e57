-- Version 4: costs that do not grow with the size of the database.

-- Indexes behind the inbound log's filters, so a filtered page (the API's and the console's
-- `endpoint`, `status` and `event`) reads only matching rows, newest first, however long the
-- log. (`endpoint` alone has `inbound_by_endpoint` since version 1.)
CREATE INDEX inbound_by_endpoint_status ON inbound (endpoint, status, id);
CREATE INDEX inbound_by_status ON inbound (status, id);
CREATE INDEX inbound_by_event ON inbound (event, id) WHERE event IS NOT NULL;

-- Each alert's history apart from its record: an append inserts one row instead of rewriting
-- a record that holds every inbound id of the alert. The records keep an empty `history`.
CREATE TABLE alert_history (
    alert_id BIGINT NOT NULL,
    inbound_id BIGINT NOT NULL,
    PRIMARY KEY (alert_id, inbound_id)
);
INSERT INTO alert_history (alert_id, inbound_id)
    SELECT a.id, (entry #>> '{}')::BIGINT
    FROM alerts a, jsonb_array_elements(CASE jsonb_typeof(a.record -> 'history')
                                            WHEN 'array' THEN a.record -> 'history'
                                            ELSE '[]'::jsonb END) AS entry
    ON CONFLICT DO NOTHING;
UPDATE alerts SET record = jsonb_set(record, '{history}', '[]'::jsonb)
    WHERE jsonb_typeof(record -> 'history') = 'array'
      AND jsonb_array_length(record -> 'history') > 0;
