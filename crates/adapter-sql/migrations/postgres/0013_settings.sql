-- The runtime settings: one record (id 1), replaced by compare-and-set on
-- its version; the body is the domain's JSON of the values set.
CREATE TABLE settings (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL,
    body    TEXT NOT NULL
);
