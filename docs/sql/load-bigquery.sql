-- nhi-gate ledger rows -> two tables, BigQuery. First load the lines whole, one STRING column
-- (a delimiter and quote that never occur in JSON lines):
--   bq load --source_format=CSV --field_delimiter=$'\x01' --quote='' \
--     nhi.ledger_raw ledger-rows.jsonl row:STRING
-- then run this file (bq query --use_legacy_sql=false < load-bigquery.sql), then queries.sql
-- with the dataset as the default (bq query --dataset_id=nhi ...).
CREATE OR REPLACE TABLE nhi.nhi_identity AS
SELECT
  JSON_VALUE(row, '$.repository')                    AS repository,
  JSON_VALUE(row, '$.identity_id')                   AS identity_id,
  JSON_VALUE(row, '$.kind')                          AS kind,
  JSON_VALUE(row, '$.platform')                      AS platform,
  JSON_VALUE(row, '$.address')                       AS address,
  JSON_VALUE(row, '$.path')                          AS path,
  CAST(JSON_VALUE(row, '$.line') AS INT64)           AS line,
  JSON_VALUE(row, '$.owner')                         AS owner,
  JSON_VALUE(row, '$.ticket')                        AS ticket,
  JSON_VALUE(row, '$.environment')                   AS environment,
  JSON_VALUE(row, '$.expiry')                        AS expiry,
  DATE_DIFF(DATE(JSON_VALUE(row, '$.expiry')), CURRENT_DATE(), DAY) AS expiry_days_left,
  JSON_VALUE(row, '$.privileges.summary')            AS privileges_summary,
  CAST(JSON_VALUE(row, '$.privileges.admin') AS BOOL)      AS admin,
  CAST(JSON_VALUE(row, '$.privileges.wildcard') AS BOOL)   AS wildcard,
  CAST(JSON_VALUE(row, '$.privileges.escalation') AS BOOL) AS escalation,
  JSON_VALUE(row, '$.created_by.actor_kind')         AS created_by_kind,
  JSON_VALUE(row, '$.created_by.agent')              AS created_by_agent,
  JSON_VALUE(row, '$.created_by.commit')             AS created_commit,
  JSON_VALUE(row, '$.created_by.date')               AS created_at,
  JSON_VALUE(row, '$.last_changed_by.actor_kind')    AS last_changed_by_kind,
  JSON_VALUE(row, '$.last_changed_by.agent')         AS last_changed_by_agent,
  JSON_VALUE(row, '$.last_changed_by.commit')        AS last_changed_commit,
  JSON_VALUE(row, '$.last_changed_by.date')          AS last_changed_at,
  JSON_VALUE(row, '$.status')                        AS status,
  CAST(JSON_VALUE(row, '$.approved') AS BOOL)        AS approved
FROM nhi.ledger_raw
WHERE JSON_VALUE(row, '$.table') = 'identity';

CREATE OR REPLACE TABLE nhi.nhi_event AS
SELECT
  JSON_VALUE(row, '$.repository')                    AS repository,
  JSON_VALUE(row, '$.identity_id')                   AS identity_id,
  JSON_VALUE(row, '$.event')                         AS event,
  JSON_VALUE(row, '$.commit')                        AS commit_sha,
  JSON_VALUE(row, '$.date')                          AS event_at,
  JSON_VALUE(row, '$.actor_kind')                    AS actor_kind,
  JSON_VALUE(row, '$.agent')                         AS agent,
  JSON_QUERY(row, '$.evidence')                      AS evidence,
  JSON_VALUE(row, '$.strength')                      AS strength,
  JSON_VALUE(row, '$.path')                          AS path,
  CAST(JSON_VALUE(row, '$.line') AS INT64)           AS line,
  JSON_VALUE(row, '$.detail')                        AS detail
FROM nhi.ledger_raw
WHERE JSON_VALUE(row, '$.table') = 'event';
