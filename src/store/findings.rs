//! Findings and their history (tables `findings`, `finding_changes`).
//!
//! A finding is one (cluster, check, resource), identified by [`history::finding_id`]. Storing a
//! scan writes only what changed against the finding's current state: new findings, status or
//! evidence changes, and findings no longer reported (`absent`). The results of any retained scan
//! are rebuilt from the change rows (`latest change at or before the scan`), so an unchanged scan
//! costs no rows here at all.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder, Transaction};
use uuid::Uuid;

use super::exceptions::{self, ExceptionMark, EXCEPTION_COLUMN};
use super::scans::ScanRow;
use super::{and_eq, StoreError};
use crate::checks::{CheckResult, ResourceRef};
use crate::domain::{Area, Severity, Status};
use crate::history::{self, ChangeKind, Lifecycle, Observation, Observed};

/// How many findings a stored scan created, changed and found gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeStats {
    pub new: usize,
    pub changed: usize,
    pub gone: usize,
}

impl ChangeStats {
    pub fn total(&self) -> usize {
        self.new + self.changed + self.gone
    }
}

#[derive(FromRow)]
struct Current {
    id: Uuid,
    status: String,
    evidence: String,
    status_since: DateTime<Utc>,
    first_seen_at: DateTime<Utc>,
    opened_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    reopened_at: Option<DateTime<Utc>>,
    reopen_count: i32,
    last_seen_at: Option<DateTime<Utc>>,
}

impl Current {
    fn lifecycle(&self) -> Result<Lifecycle, StoreError> {
        Ok(Lifecycle {
            status: Observed::parse(&self.status).map_err(StoreError::Corrupt)?,
            status_since: self.status_since,
            first_seen_at: self.first_seen_at,
            opened_at: self.opened_at,
            resolved_at: self.resolved_at,
            reopened_at: self.reopened_at,
            reopen_count: self.reopen_count,
            last_seen_at: self.last_seen_at,
        })
    }
}

fn status_rank(s: Status) -> u8 {
    match s {
        Status::Fail => 4,
        Status::Warn => 3,
        Status::Unknown => 2,
        Status::Pass => 1,
        Status::NotApplicable => 0,
    }
}

/// One result per finding id: when a check reports the same resource twice, the worse status
/// wins and the evidence of both is kept, so nothing is hidden.
///
/// In id order: rows are then written in key order, so PostgreSQL appends at the right edge of
/// each index instead of splitting pages all over it (about a fifth faster for a first scan of
/// 50,000 results).
fn dedupe(cluster_id: Uuid, results: &[CheckResult]) -> BTreeMap<Uuid, Cow<'_, CheckResult>> {
    let mut out: BTreeMap<Uuid, Cow<'_, CheckResult>> = BTreeMap::new();
    for r in results {
        let id = history::finding_id(cluster_id, &r.check_id, &r.resource);
        match out.get_mut(&id) {
            None => {
                out.insert(id, Cow::Borrowed(r));
            }
            Some(prev) => {
                // Rare (a check naming one resource twice): only then is a result copied.
                let prev = prev.to_mut();
                if status_rank(r.status) > status_rank(prev.status) {
                    prev.status = r.status;
                }
                if prev.evidence != r.evidence {
                    prev.evidence = format!("{}; {}", prev.evidence, r.evidence);
                }
            }
        }
    }
    out
}

#[derive(Default)]
struct LifecycleRows {
    id: Vec<Uuid>,
    status: Vec<String>,
    evidence: Vec<String>,
    status_since: Vec<DateTime<Utc>>,
    opened_at: Vec<Option<DateTime<Utc>>>,
    resolved_at: Vec<Option<DateTime<Utc>>>,
    reopened_at: Vec<Option<DateTime<Utc>>>,
    reopen_count: Vec<i32>,
    last_seen_at: Vec<Option<DateTime<Utc>>>,
}

impl LifecycleRows {
    fn push(&mut self, id: Uuid, l: &Lifecycle, evidence: String) {
        self.id.push(id);
        self.status.push(l.status.as_str().to_string());
        self.evidence.push(evidence);
        self.status_since.push(l.status_since);
        self.opened_at.push(l.opened_at);
        self.resolved_at.push(l.resolved_at);
        self.reopened_at.push(l.reopened_at);
        self.reopen_count.push(l.reopen_count);
        self.last_seen_at.push(l.last_seen_at);
    }
}

/// Write the changes `results` make to the cluster's findings, as of result set `seq` at `at`.
/// Returns the counts and the ids of the findings written (new or changed).
pub(crate) async fn apply_results(
    tx: &mut Transaction<'_, Postgres>,
    cluster_id: Uuid,
    scan_id: Uuid,
    seq: i64,
    at: DateTime<Utc>,
    results: &[CheckResult],
) -> Result<(ChangeStats, Vec<Uuid>), StoreError> {
    let current = sqlx::query_as::<_, Current>(
        "SELECT id, status, evidence, status_since, first_seen_at, opened_at, resolved_at, reopened_at,
                reopen_count, last_seen_at
         FROM findings WHERE cluster_id = $1",
    )
    .bind(cluster_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut by_id: HashMap<Uuid, Current> = current.into_iter().map(|c| (c.id, c)).collect();
    let incoming = dedupe(cluster_id, results);
    let mut stats = ChangeStats::default();

    // New findings: identity columns plus a first lifecycle.
    let mut new_rows: Vec<(Uuid, &CheckResult)> = Vec::new();
    let mut updates = LifecycleRows::default();
    for (id, r) in &incoming {
        match by_id.remove(id) {
            None => new_rows.push((*id, &**r)),
            Some(cur) => {
                let next = Observed::Present(r.status);
                if cur.status == next.as_str() && cur.evidence == r.evidence {
                    continue;
                }
                let l = cur.lifecycle()?.transition(next, at);
                updates.push(*id, &l, r.evidence.clone());
                stats.changed += 1;
            }
        }
    }
    // Findings no longer reported: gone, unless already recorded as gone.
    for (id, cur) in by_id {
        if cur.status == Observed::Absent.as_str() {
            continue;
        }
        let l = cur.lifecycle()?.transition(Observed::Absent, at);
        updates.push(id, &l, String::from("no longer reported by this check"));
        stats.gone += 1;
    }
    stats.new = new_rows.len();
    let written: Vec<Uuid> = new_rows.iter().map(|(id, _)| *id).chain(updates.id.iter().copied()).collect();

    if !new_rows.is_empty() {
        insert_new(tx, cluster_id, scan_id, seq, at, &new_rows).await?;
    }
    if !updates.id.is_empty() {
        sqlx::query(
            "UPDATE findings f SET status = t.status, evidence = t.evidence, status_since = t.status_since,
                opened_at = t.opened_at, resolved_at = t.resolved_at, reopened_at = t.reopened_at,
                reopen_count = t.reopen_count, last_seen_at = t.last_seen_at
             FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],
                         $6::timestamptz[], $7::timestamptz[], $8::int[], $9::timestamptz[])
                  AS t(id, status, evidence, status_since, opened_at, resolved_at, reopened_at, reopen_count,
                       last_seen_at)
             WHERE f.id = t.id",
        )
        .bind(&updates.id)
        .bind(&updates.status)
        .bind(&updates.evidence)
        .bind(&updates.status_since)
        .bind(&updates.opened_at)
        .bind(&updates.resolved_at)
        .bind(&updates.reopened_at)
        .bind(&updates.reopen_count)
        .bind(&updates.last_seen_at)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO finding_changes (finding_id, seq, scan_id, status, evidence)
             SELECT id, $4, $5, status, evidence FROM UNNEST($1::uuid[], $2::text[], $3::text[]) AS t(id, status, evidence)",
        )
        .bind(&updates.id)
        .bind(&updates.status)
        .bind(&updates.evidence)
        .bind(seq)
        .bind(scan_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok((stats, written))
}

async fn insert_new(
    tx: &mut Transaction<'_, Postgres>,
    cluster_id: Uuid,
    scan_id: Uuid,
    seq: i64,
    at: DateTime<Utc>,
    rows: &[(Uuid, &CheckResult)],
) -> Result<(), StoreError> {
    let n = rows.len();
    let mut ids = Vec::with_capacity(n);
    let (mut check, mut title, mut area, mut sev) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut kind, mut ns, mut name, mut node) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut status, mut evidence, mut source, mut opened) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for (id, r) in rows {
        let l = Lifecycle::first(r.status, at);
        ids.push(*id);
        check.push(r.check_id.as_str());
        title.push(r.title.as_str());
        area.push(r.area.as_str());
        sev.push(r.severity.as_str());
        kind.push(r.resource.kind.as_str());
        ns.push(r.resource.namespace.as_deref());
        name.push(r.resource.name.as_str());
        node.push(r.resource.node.as_deref());
        status.push(r.status.as_str());
        evidence.push(r.evidence.as_str());
        source.push(r.source.map(|s| s.as_str()));
        opened.push(l.opened_at);
    }
    sqlx::query(
        "INSERT INTO findings (id, cluster_id, check_id, title, area, severity, resource_kind, resource_namespace,
                               resource_name, resource_node, status, evidence, source, first_seen_at,
                               first_seen_scan_id, first_seen_seq, status_since, opened_at)
         SELECT t.id, $1, t.check_id, t.title, t.area, t.severity, t.kind, t.ns, t.name, t.node, t.status,
                t.evidence, t.source, $2, $3, $4, $2, t.opened
         FROM UNNEST($5::uuid[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                     $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::timestamptz[])
              AS t(id, check_id, title, area, severity, kind, ns, name, node, status, evidence, source, opened)",
    )
    .bind(cluster_id)
    .bind(at)
    .bind(scan_id)
    .bind(seq)
    .bind(&ids)
    .bind(&check)
    .bind(&title)
    .bind(&area)
    .bind(&sev)
    .bind(&kind)
    .bind(&ns)
    .bind(&name)
    .bind(&node)
    .bind(&status)
    .bind(&evidence)
    .bind(&source)
    .bind(&opened)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO finding_changes (finding_id, seq, scan_id, status, evidence)
         SELECT id, $1, $2, status, evidence FROM UNNEST($3::uuid[], $4::text[], $5::text[]) AS t(id, status, evidence)",
    )
    .bind(seq)
    .bind(scan_id)
    .bind(&ids)
    .bind(&status)
    .bind(&evidence)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One result of a stored scan.
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct StoredResult {
    /// The finding's id (stable across scans of the cluster).
    pub finding_id: Uuid,
    pub check_id: String,
    pub title: String,
    #[schema(value_type = Area)]
    pub area: String,
    #[schema(value_type = Severity)]
    pub severity: String,
    #[sqlx(flatten)]
    pub resource: ResourceRow,
    #[schema(value_type = Status)]
    pub status: String,
    pub evidence: String,
    /// The exception in force that covers this result (its status is kept; it does not count
    /// against the score or compliance), or `null`.
    #[schema(value_type = Option<ExceptionMark>)]
    pub exception: Option<Json<ExceptionMark>>,
}

/// The resource a stored result is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, FromRow, utoipa::ToSchema)]
pub struct ResourceRow {
    #[sqlx(rename = "resource_kind")]
    pub kind: String,
    #[sqlx(rename = "resource_namespace")]
    pub namespace: Option<String>,
    #[sqlx(rename = "resource_name")]
    pub name: String,
    #[sqlx(rename = "resource_node")]
    pub node: Option<String>,
}

/// Filters of `GET /scans/{id}/results`; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct ResultFilter {
    pub status: Option<Status>,
    pub area: Option<Area>,
    pub severity: Option<Severity>,
    pub check: Option<String>,
    pub namespace: Option<String>,
    /// Only results an exception in force covers (`true`), or only the others (`false`).
    pub excepted: Option<bool>,
}

/// The results of a scan, ordered by finding id, `limit` after the `after` cursor.
#[tracing::instrument(skip_all, fields(scan = %scan.id))]
pub async fn results(
    pool: &PgPool,
    scan: &ScanRow,
    filter: &ResultFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<StoredResult>, StoreError> {
    let seq = result_seq(scan)?;
    // Only the conditions the filter sets (see `list`): the cluster's findings walked in id order.
    let join = exceptions::join_exception("cl");
    let mut qb = QueryBuilder::new(format!(
        "SELECT f.id AS finding_id, f.check_id, f.title, f.area, f.severity, f.resource_kind, f.resource_namespace,
                f.resource_name, f.resource_node, c.status, c.evidence, {EXCEPTION_COLUMN}
         FROM findings f JOIN clusters cl ON cl.id = f.cluster_id{join}
         CROSS JOIN LATERAL (SELECT ch.status, ch.evidence FROM finding_changes ch
                             WHERE ch.finding_id = f.id AND ch.seq <= "
    ));
    qb.push_bind(seq)
        .push(" ORDER BY ch.seq DESC LIMIT 1) c WHERE f.cluster_id = ")
        .push_bind(scan.cluster_id);
    qb.push(" AND f.first_seen_seq <= ").push_bind(seq).push(" AND c.status <> 'absent'");
    and_eq(&mut qb, "c.status", filter.status.map(|v| v.as_str()));
    and_eq(&mut qb, "f.area", filter.area.map(|v| v.as_str()));
    and_eq(&mut qb, "f.severity", filter.severity.map(|v| v.as_str()));
    and_eq(&mut qb, "f.check_id", filter.check.as_deref());
    and_eq(&mut qb, "f.resource_namespace", filter.namespace.as_deref());
    if let Some(excepted) = filter.excepted {
        qb.push(exceptions::excepted_condition(excepted));
    }
    if let Some(v) = after {
        qb.push(" AND f.id > ").push_bind(v);
    }
    qb.push(" ORDER BY f.id LIMIT ").push_bind(limit);
    Ok(qb.build_query_as::<StoredResult>().fetch_all(pool).await?)
}

fn result_seq(scan: &ScanRow) -> Result<i64, StoreError> {
    if scan.detail_pruned {
        return Err(StoreError::Gone(format!(
            "the results of scan {} were pruned by the retention policy; its summary is kept",
            scan.id
        )));
    }
    scan.result_seq.ok_or_else(|| {
        StoreError::Conflict(format!("scan {} has no results (it is {})", scan.id, scan.state))
    })
}

/// Every result of a scan, read a page at a time.
pub async fn all_results(pool: &PgPool, scan: &ScanRow) -> Result<Vec<StoredResult>, StoreError> {
    const PAGE: i64 = 10_000;
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = results(pool, scan, &ResultFilter::default(), after, PAGE).await?;
        let last = page.last().map(|r| r.finding_id);
        let done = (page.len() as i64) < PAGE;
        all.extend(page);
        if done {
            return Ok(all);
        }
        after = last;
    }
}

/// Every result of a scan as the checks made it (catalog references filled in from the
/// frameworks' data; the evidence source is not kept per result).
pub async fn check_results(pool: &PgPool, scan: &ScanRow) -> Result<Vec<CheckResult>, StoreError> {
    let corrupt = |what: &str, e: String| StoreError::Corrupt(format!("stored result {what}: {e}"));
    all_results(pool, scan)
        .await?
        .into_iter()
        .map(|r| {
            Ok(CheckResult {
                area: r.area.parse().map_err(|e| corrupt("area", e))?,
                severity: r.severity.parse().map_err(|e| corrupt("severity", e))?,
                status: r.status.parse().map_err(|e| corrupt("status", e))?,
                resource: ResourceRef {
                    kind: r.resource.kind,
                    namespace: r.resource.namespace,
                    name: r.resource.name,
                    node: r.resource.node,
                },
                evidence: r.evidence,
                source: None,
                refs: crate::checks::frameworks::refs_of(&r.check_id).to_vec(),
                check_id: r.check_id,
                title: r.title,
            })
        })
        .collect()
}

/// One entry of a diff between two scans.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DiffEntry {
    pub change: ChangeKind,
    pub check_id: String,
    pub title: String,
    pub resource: ResourceRow,
    /// Status in the earlier scan; `null` when not reported there.
    pub before_status: Option<String>,
    pub before_evidence: Option<String>,
    /// Status in the later scan; `null` when not reported there.
    pub after_status: Option<String>,
    pub after_evidence: Option<String>,
}

/// What changed from scan `a` to scan `b`: `new`, `resolved` and `changed` entries. Results are
/// matched by check and resource, so scans of two different clusters can be compared too.
#[tracing::instrument(skip_all, fields(a = %a.id, b = %b.id))]
pub async fn diff(pool: &PgPool, a: &ScanRow, b: &ScanRow) -> Result<Vec<DiffEntry>, StoreError> {
    type Key = (String, ResourceRow);
    let (ra, rb) = (all_results(pool, a).await?, all_results(pool, b).await?);
    let mut titles: HashMap<Key, String> = HashMap::new();
    let to_map = |rows: Vec<StoredResult>, titles: &mut HashMap<Key, String>| {
        let mut m: HashMap<Key, Observation> = HashMap::with_capacity(rows.len());
        for r in rows {
            let key = (r.check_id.clone(), r.resource.clone());
            titles.entry(key.clone()).or_insert(r.title);
            let status = Observed::parse(&r.status).map_err(StoreError::Corrupt)?;
            m.insert(key, Observation { status, evidence: r.evidence });
        }
        Ok::<_, StoreError>(m)
    };
    let ma = to_map(ra, &mut titles)?;
    let mb = to_map(rb, &mut titles)?;
    let changes = history::diff(&ma, &mb);
    Ok(changes
        .into_iter()
        .map(|(key, change)| {
            let before = ma.get(&key);
            let after = mb.get(&key);
            DiffEntry {
                change,
                title: titles.get(&key).cloned().unwrap_or_default(),
                check_id: key.0.clone(),
                resource: key.1.clone(),
                before_status: before.map(|o| o.status.as_str().to_string()),
                before_evidence: before.map(|o| o.evidence.clone()),
                after_status: after.map(|o| o.status.as_str().to_string()),
                after_evidence: after.map(|o| o.evidence.clone()),
            }
        })
        .collect())
}

/// A finding with its lifecycle, fleet-wide.
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct Finding {
    pub id: Uuid,
    pub cluster_id: Uuid,
    pub cluster_name: String,
    pub check_id: String,
    pub title: String,
    #[schema(value_type = Area)]
    pub area: String,
    #[schema(value_type = Severity)]
    pub severity: String,
    #[sqlx(flatten)]
    pub resource: ResourceRow,
    /// Current status: a check status, or `absent` once the resource is no longer reported.
    pub status: String,
    pub evidence: String,
    pub first_seen_at: DateTime<Utc>,
    /// When the finding was last reported: the cluster's latest results while it is present.
    pub last_seen_at: Option<DateTime<Utc>>,
    pub status_since: DateTime<Utc>,
    /// When it last became open (fail or warn).
    pub opened_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub reopened_at: Option<DateTime<Utc>>,
    pub reopen_count: i32,
    /// The exception in force that covers this finding, or `null`.
    #[schema(value_type = Option<ExceptionMark>)]
    pub exception: Option<Json<ExceptionMark>>,
}

/// Which findings to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingState {
    /// Failing or warning now.
    #[default]
    Open,
    /// Resolved (fixed or gone) and not reopened.
    Resolved,
    /// Every finding ever seen.
    All,
}

/// Filters of `GET /findings`.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    pub state: FindingState,
    pub cluster: Option<Uuid>,
    pub group: Option<String>,
    /// Cluster labels that must all match.
    pub labels: Vec<(String, String)>,
    pub area: Option<Area>,
    pub severity: Option<Severity>,
    pub check: Option<String>,
    /// Only findings that became open (new) or were resolved at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only findings an exception in force covers (`true`), or only the others (`false`).
    pub excepted: Option<bool>,
}

/// Findings across the fleet, ordered by id, `limit` after the `after` cursor.
#[tracing::instrument(skip_all)]
pub async fn list(
    pool: &PgPool,
    filter: &FindingFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Finding>, StoreError> {
    // Only the conditions the filter sets, so each combination is planned with the index that fits
    // (a cluster's findings by (cluster_id, id), a check's open ones by (check_id, id)).
    let mut qb = QueryBuilder::new(format!(
        "SELECT f.id, f.cluster_id, c.name AS cluster_name, f.check_id, f.title, f.area, f.severity,
                f.resource_kind, f.resource_namespace, f.resource_name, f.resource_node, f.status, f.evidence,
                f.first_seen_at, COALESCE(f.last_seen_at, s.last_result_at) AS last_seen_at, f.status_since,
                f.opened_at, f.resolved_at, f.reopened_at, f.reopen_count, {EXCEPTION_COLUMN}
         FROM findings f JOIN clusters c ON c.id = f.cluster_id
         LEFT JOIN cluster_scan_state s ON s.cluster_id = f.cluster_id{join}
         WHERE c.deleted_at IS NULL",
        join = exceptions::join_exception("c")
    ));
    match filter.state {
        FindingState::Open => qb.push(" AND f.status IN ('fail', 'warn')"),
        FindingState::Resolved => qb.push(" AND f.resolved_at IS NOT NULL"),
        FindingState::All => &mut qb,
    };
    and_eq(&mut qb, "f.cluster_id", filter.cluster);
    and_eq(&mut qb, "c.cluster_group", filter.group.as_deref());
    if !filter.labels.is_empty() {
        let labels: serde_json::Map<String, serde_json::Value> =
            filter.labels.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
        qb.push(" AND c.labels @> ").push_bind(serde_json::Value::Object(labels)).push("::jsonb");
    }
    and_eq(&mut qb, "f.area", filter.area.map(|v| v.as_str()));
    and_eq(&mut qb, "f.severity", filter.severity.map(|v| v.as_str()));
    and_eq(&mut qb, "f.check_id", filter.check.as_deref());
    if let Some(t) = filter.since {
        let column = if filter.state == FindingState::Resolved { "f.resolved_at" } else { "f.opened_at" };
        qb.push(format_args!(" AND {column} >= ")).push_bind(t);
    }
    if let Some(excepted) = filter.excepted {
        qb.push(exceptions::excepted_condition(excepted));
    }
    if let Some(v) = after {
        qb.push(" AND f.id > ").push_bind(v);
    }
    qb.push(" ORDER BY f.id LIMIT ").push_bind(limit);
    Ok(qb.build_query_as::<Finding>().fetch_all(pool).await?)
}

impl From<&ResourceRef> for ResourceRow {
    fn from(r: &ResourceRef) -> Self {
        Self {
            kind: r.kind.clone(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
            node: r.node.clone(),
        }
    }
}
