//! Finding lifecycle, scan diffs and trends on small histories whose answers were worked out by
//! hand, stored through the real store in a fresh PostgreSQL database.

use chrono::{DateTime, Duration, TimeZone, Utc};
use palisade::checks::{CheckResult, ResourceRef};
use palisade::domain::{Area, Severity, Status};
use palisade::history::ChangeKind;
use palisade::store::findings::{self, FindingFilter, FindingState, ResultFilter};
use palisade::store::scans::{self, ScanOutcome, ScanRow};
use palisade::store::trends::{self, Metric, SplitBy, TrendQuery};
use sqlx::PgPool;
use uuid::Uuid;

use crate::history_support::{add_cluster, fresh_pool};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
}

fn r(check: &str, pod: &str, area: Area, severity: Severity, status: Status, evidence: &str) -> CheckResult {
    CheckResult {
        check_id: check.into(),
        title: format!("title of {check}"),
        area,
        severity,
        status,
        resource: ResourceRef {
            kind: "Pod".into(),
            namespace: Some("shop".into()),
            name: pod.into(),
            node: None,
        },
        evidence: evidence.into(),
        source: None,
        refs: vec![],
    }
}

/// Store one scan of `cluster` with `results`, finished at `when`.
async fn scan(pool: &PgPool, cluster: Uuid, results: Vec<CheckResult>, when: DateTime<Utc>) -> ScanRow {
    let (queued, created) = scans::request(pool, cluster, Some("tester")).await.unwrap();
    assert!(created);
    let claims = scans::claim(pool, "test", 10, None, std::time::Duration::from_secs(60), 3).await.unwrap();
    let claim = claims.into_iter().find(|c| c.id == queued.id).expect("the queued scan is claimed");
    let partial = results.iter().any(|r| r.status == Status::Unknown);
    scans::complete_as_of(pool, &claim, &ScanOutcome { results, snapshot: None, partial }, 1, Some(when))
        .await
        .unwrap();
    scans::get(pool, queued.id).await.unwrap()
}

async fn all_results(pool: &PgPool, s: &ScanRow) -> Vec<(String, String, String)> {
    findings::results(pool, s, &ResultFilter::default(), None, 500)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.check_id, r.resource.name, r.status))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

async fn finding(pool: &PgPool, cluster: Uuid, check: &str) -> findings::Finding {
    let filter = FindingFilter {
        state: FindingState::All,
        cluster: Some(cluster),
        check: Some(check.into()),
        ..Default::default()
    };
    let mut rows = findings::list(pool, &filter, None, 10).await.unwrap();
    assert_eq!(rows.len(), 1, "one finding for {check}");
    rows.remove(0)
}

#[tokio::test]
async fn a_finding_that_is_fixed_then_regresses_is_resolved_then_reopened() {
    let pool = fresh_pool().await;
    let c = add_cluster(&pool, "shop", None, &[]).await;
    let priv_fail =
        || r("PAL-HOST-001", "web", Area::Host, Severity::High, Status::Fail, "web runs privileged");
    let priv_pass =
        || r("PAL-HOST-001", "web", Area::Host, Severity::High, Status::Pass, "web is not privileged");

    let s1 = scan(&pool, c, vec![priv_fail()], at(1, 10)).await;
    let f = finding(&pool, c, "PAL-HOST-001").await;
    assert_eq!((f.status.as_str(), f.first_seen_at, f.opened_at), ("fail", at(1, 10), Some(at(1, 10))));

    let s2 = scan(&pool, c, vec![priv_pass()], at(2, 10)).await;
    let f = finding(&pool, c, "PAL-HOST-001").await;
    assert_eq!((f.status.as_str(), f.resolved_at, f.reopen_count), ("pass", Some(at(2, 10)), 0));

    let s3 = scan(&pool, c, vec![priv_fail()], at(3, 10)).await;
    let f = finding(&pool, c, "PAL-HOST-001").await;
    assert_eq!(f.status, "fail");
    assert_eq!((f.resolved_at, f.reopened_at, f.reopen_count), (None, Some(at(3, 10)), 1));
    assert_eq!(f.first_seen_at, at(1, 10), "identity and first sighting survive the regression");

    // The pod is deleted: the finding is gone, which resolves it.
    let s4 = scan(&pool, c, vec![], at(4, 10)).await;
    let f = finding(&pool, c, "PAL-HOST-001").await;
    assert_eq!(
        (f.status.as_str(), f.resolved_at, f.last_seen_at),
        ("absent", Some(at(4, 10)), Some(at(4, 10)))
    );

    // Every scan's results are still what that scan saw.
    let fail = ("PAL-HOST-001".to_string(), "web".to_string(), "fail".to_string());
    let pass = ("PAL-HOST-001".to_string(), "web".to_string(), "pass".to_string());
    assert_eq!(all_results(&pool, &s1).await, vec![fail.clone()]);
    assert_eq!(all_results(&pool, &s2).await, vec![pass]);
    assert_eq!(all_results(&pool, &s3).await, vec![fail]);
    assert!(all_results(&pool, &s4).await.is_empty());

    // "Resolved since day 4" finds it; "open" does not.
    let resolved =
        FindingFilter { state: FindingState::Resolved, since: Some(at(4, 0)), ..Default::default() };
    assert_eq!(findings::list(&pool, &resolved, None, 10).await.unwrap().len(), 1);
    let open = FindingFilter { state: FindingState::Open, ..Default::default() };
    assert!(findings::list(&pool, &open, None, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn evidence_that_could_not_be_collected_does_not_resolve_a_finding() {
    let pool = fresh_pool().await;
    let c = add_cluster(&pool, "flaky", None, &[]).await;
    scan(
        &pool,
        c,
        vec![r("PAL-TLS-002", "api", Area::Tls, Severity::High, Status::Fail, "TLS 1.0 offered")],
        at(1, 1),
    )
    .await;
    let s2 = scan(
        &pool,
        c,
        vec![r(
            "PAL-TLS-002",
            "api",
            Area::Tls,
            Severity::High,
            Status::Unknown,
            "timed_out: probe timed out",
        )],
        at(1, 2),
    )
    .await;
    assert_eq!(s2.state, "partial");
    let f = finding(&pool, c, "PAL-TLS-002").await;
    assert_eq!((f.status.as_str(), f.resolved_at, f.opened_at), ("unknown", None, Some(at(1, 1))));
    scan(
        &pool,
        c,
        vec![r("PAL-TLS-002", "api", Area::Tls, Severity::High, Status::Fail, "TLS 1.0 offered")],
        at(1, 3),
    )
    .await;
    let f = finding(&pool, c, "PAL-TLS-002").await;
    assert_eq!((f.reopen_count, f.opened_at), (0, Some(at(1, 1))), "never fixed, so never reopened");
}

#[tokio::test]
async fn an_unchanged_scan_writes_no_finding_history() {
    let pool = fresh_pool().await;
    let c = add_cluster(&pool, "steady", None, &[]).await;
    let results = || {
        (0..50)
            .map(|i| {
                r(
                    "PAL-NET-001",
                    &format!("pod-{i}"),
                    Area::Network,
                    Severity::Medium,
                    Status::Fail,
                    "no policy",
                )
            })
            .collect::<Vec<_>>()
    };
    scan(&pool, c, results(), at(1, 1)).await;
    let changes = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM finding_changes").fetch_one(&pool).await.unwrap()
    };
    assert_eq!(changes().await, 50);
    let s2 = scan(&pool, c, results(), at(1, 2)).await;
    assert_eq!(changes().await, 50);
    assert_eq!(s2.changes, Some(0));
    assert_eq!(all_results(&pool, &s2).await.len(), 50, "its results are still complete");
}

#[tokio::test]
async fn a_diff_lists_new_resolved_and_changed_findings() {
    let pool = fresh_pool().await;
    let c = add_cluster(&pool, "diffs", None, &[]).await;
    let a = scan(
        &pool,
        c,
        vec![
            r("A", "fixed", Area::Host, Severity::High, Status::Fail, "bad"),
            r("A", "kept", Area::Host, Severity::High, Status::Fail, "bad"),
            r("A", "reworded", Area::Host, Severity::High, Status::Fail, "3 ports open"),
            r("B", "deleted", Area::Authz, Severity::Critical, Status::Warn, "wildcard"),
            r("B", "fine", Area::Authz, Severity::Critical, Status::Pass, "ok"),
        ],
        at(5, 1),
    )
    .await;
    let b = scan(
        &pool,
        c,
        vec![
            r("A", "fixed", Area::Host, Severity::High, Status::Pass, "good"),
            r("A", "kept", Area::Host, Severity::High, Status::Fail, "bad"),
            r("A", "reworded", Area::Host, Severity::High, Status::Fail, "4 ports open"),
            r("B", "fine", Area::Authz, Severity::Critical, Status::Fail, "wildcard"),
            r("C", "brand-new", Area::Tls, Severity::Low, Status::Fail, "expired"),
        ],
        at(5, 2),
    )
    .await;
    let d = findings::diff(&pool, &a, &b).await.unwrap();
    let got: Vec<(String, String, ChangeKind)> =
        d.iter().map(|e| (e.check_id.clone(), e.resource.name.clone(), e.change)).collect();
    // Worked out by hand from the two lists above; the diff is ordered by check and resource.
    let want = vec![
        ("A".to_string(), "fixed".to_string(), ChangeKind::Resolved),
        ("A".to_string(), "reworded".to_string(), ChangeKind::Changed),
        ("B".to_string(), "deleted".to_string(), ChangeKind::Resolved),
        ("B".to_string(), "fine".to_string(), ChangeKind::New),
        ("C".to_string(), "brand-new".to_string(), ChangeKind::New),
    ];
    assert_eq!(got, want);
    let reworded = d.iter().find(|e| e.resource.name == "reworded").unwrap();
    assert_eq!(reworded.before_evidence.as_deref(), Some("3 ports open"));
    assert_eq!(reworded.after_evidence.as_deref(), Some("4 ports open"));
}

fn points(series: &[trends::Series], key: &str) -> Vec<Option<f64>> {
    series
        .iter()
        .find(|s| s.key == key || s.label == key)
        .map(|s| s.points.iter().map(|p| p.value).collect())
        .unwrap()
}

#[tokio::test]
async fn trends_match_values_worked_out_by_hand() {
    let pool = fresh_pool().await;
    let a = add_cluster(&pool, "eu-a", Some("eu"), &[]).await;
    let b = add_cluster(&pool, "us-b", Some("us"), &[]).await;
    use Area::*;
    use Severity::*;
    use Status::*;
    // Each check on its own pod: every result is its own scoring unit (docs/scoring.md).
    // Day 1, A at 10:00: X fail (high), Y pass (high), Z pass (critical) → score (4+8)/(4+4+8) = 75.
    scan(
        &pool,
        a,
        vec![
            r("X", "x", Host, High, Fail, ""),
            r("Y", "y", Host, High, Pass, ""),
            r("Z", "z", Tls, Critical, Pass, ""),
        ],
        at(1, 10),
    )
    .await;
    // Day 1, B at 12:00: X fail (critical, tls), Y fail (low, host) → score 0, 2 failures.
    scan(&pool, b, vec![r("X", "x", Tls, Critical, Fail, ""), r("Y", "y", Host, Low, Fail, "")], at(1, 12))
        .await;
    // Day 1, A at 20:00: everything passes → score 100, 0 failures (A's end of day 1).
    scan(
        &pool,
        a,
        vec![
            r("X", "x", Host, High, Pass, ""),
            r("Y", "y", Host, High, Pass, ""),
            r("Z", "z", Tls, Critical, Pass, ""),
        ],
        at(1, 20),
    )
    .await;
    // Day 2, A at 10:00: X and Y fail (high), Z passes → 8/16 = 50, 2 failures. B is not scanned.
    scan(
        &pool,
        a,
        vec![
            r("X", "x", Host, High, Fail, ""),
            r("Y", "y", Host, High, Fail, ""),
            r("Z", "z", Tls, Critical, Pass, ""),
        ],
        at(2, 10),
    )
    .await;

    let q = |metric, by, step: Duration| TrendQuery {
        metric,
        by,
        from: at(1, 0),
        to: at(3, 0),
        step,
        clusters: vec![],
        group: None,
    };
    let day = Duration::days(1);
    let t = trends::trend(&pool, &q(Metric::Score, SplitBy::Fleet, day)).await.unwrap();
    assert_eq!(
        points(&t, "fleet"),
        vec![Some(50.0), Some(50.0)],
        "day 1: mean of A 100 and B 0; day 2: A alone"
    );
    let t = trends::trend(&pool, &q(Metric::Failures, SplitBy::Fleet, day)).await.unwrap();
    assert_eq!(points(&t, "fleet"), vec![Some(2.0), Some(2.0)]);
    let t = trends::trend(&pool, &q(Metric::Failures, SplitBy::Cluster, day)).await.unwrap();
    assert_eq!(points(&t, "eu-a"), vec![Some(0.0), Some(2.0)]);
    assert_eq!(points(&t, "us-b"), vec![Some(2.0), None]);
    let t = trends::trend(&pool, &q(Metric::Score, SplitBy::Group, day)).await.unwrap();
    assert_eq!(points(&t, "eu"), vec![Some(100.0), Some(50.0)]);
    assert_eq!(points(&t, "us"), vec![Some(0.0), None]);
    let t = trends::trend(&pool, &q(Metric::Failures, SplitBy::Area, day)).await.unwrap();
    assert_eq!(points(&t, "host"), vec![Some(1.0), Some(2.0)]);
    assert_eq!(points(&t, "tls"), vec![Some(1.0), Some(0.0)]);
    assert_eq!(points(&t, "authn"), vec![Some(0.0), Some(0.0)]);
    let t = trends::trend(&pool, &q(Metric::Score, SplitBy::Severity, day)).await.unwrap();
    assert_eq!(points(&t, "high")[0], Some(100.0), "day 1: A's two high passes, B has none");
    assert_eq!(points(&t, "critical")[0], Some(50.0), "A's Z passes, B's X fails");
    assert_eq!(points(&t, "low")[0], Some(0.0));
    assert_eq!(points(&t, "medium")[0], None, "nothing of medium severity was decided");
    // Fleet-wide splits read the running totals in fleet_daily; naming every cluster reads the
    // per-cluster end-of-day rows instead. Both must agree (A was scanned twice on day 1, so the
    // totals had to replace its first end-of-day counts, not add to them).
    for (metric, by) in [
        (Metric::Failures, SplitBy::Area),
        (Metric::Score, SplitBy::Area),
        (Metric::Failures, SplitBy::Severity),
        (Metric::Score, SplitBy::Severity),
    ] {
        let fleet = trends::trend(&pool, &q(metric, by, day)).await.unwrap();
        let named = TrendQuery { clusters: vec![a, b], ..q(metric, by, day) };
        assert_eq!(fleet, trends::trend(&pool, &named).await.unwrap(), "{metric:?} by {by:?}");
    }
    // By group, and one group as a whole, read the groups' running totals; they agree with the
    // per-cluster rows of the clusters named.
    for (metric, by) in [
        (Metric::Score, SplitBy::Group),
        (Metric::Failures, SplitBy::Group),
        (Metric::Failures, SplitBy::Area),
        (Metric::Score, SplitBy::Severity),
    ] {
        let totals = TrendQuery { group: Some("eu".into()), ..q(metric, by, day) };
        let named = TrendQuery { clusters: vec![a], ..totals.clone() };
        assert_eq!(
            trends::trend(&pool, &totals).await.unwrap(),
            trends::trend(&pool, &named).await.unwrap(),
            "{metric:?} by {by:?} in group eu"
        );
    }
    let t = trends::trend(&pool, &q(Metric::Failures, SplitBy::Group, day)).await.unwrap();
    assert_eq!(points(&t, "eu"), vec![Some(0.0), Some(2.0)]);
    assert_eq!(points(&t, "us"), vec![Some(2.0), None]);
    // Two-day step: each cluster's latest results in the window (A day 2 = 50, B day 1 = 0).
    let t = trends::trend(&pool, &q(Metric::Score, SplitBy::Fleet, Duration::days(2))).await.unwrap();
    assert_eq!(points(&t, "fleet"), vec![Some(25.0)]);
    // Hourly on day 1: read from the scans themselves.
    let hourly =
        TrendQuery { from: at(1, 0), to: at(2, 0), ..q(Metric::Score, SplitBy::Fleet, Duration::hours(1)) };
    let t = trends::trend(&pool, &hourly).await.unwrap();
    let p = points(&t, "fleet");
    assert_eq!(p.len(), 24);
    assert_eq!((p[10], p[12], p[20]), (Some(75.0), Some(0.0), Some(100.0)));
    assert_eq!(p.iter().filter(|v| v.is_some()).count(), 3);
    // Restricting to one cluster.
    let only_b = TrendQuery { clusters: vec![b], ..q(Metric::Failures, SplitBy::Fleet, day) };
    assert_eq!(points(&trends::trend(&pool, &only_b).await.unwrap(), "fleet"), vec![Some(2.0), None]);
}

/// A cluster counts in the group it was in on each day: moving it mid-day moves that day's
/// end-of-day row with it, and its earlier days stay with the old group.
#[tokio::test]
async fn a_cluster_moved_to_another_group_takes_only_that_days_counts_with_it() {
    let pool = fresh_pool().await;
    let mover = add_cluster(&pool, "mover", Some("eu"), &[]).await;
    let stayer = add_cluster(&pool, "stayer", Some("eu"), &[]).await;
    let fail = |check: &str| r(check, "p", Area::Host, Severity::High, Status::Fail, "");
    scan(&pool, mover, vec![fail("X")], at(1, 10)).await;
    scan(&pool, stayer, vec![fail("X"), fail("Y")], at(1, 10)).await;
    scan(&pool, mover, vec![fail("X")], at(2, 9)).await;
    sqlx::query("UPDATE clusters SET cluster_group = 'us' WHERE id = $1")
        .bind(mover)
        .execute(&pool)
        .await
        .unwrap();
    scan(&pool, mover, vec![fail("X"), fail("Y"), fail("Z")], at(2, 12)).await;
    let q = TrendQuery {
        metric: Metric::Failures,
        by: SplitBy::Group,
        from: at(1, 0),
        to: at(3, 0),
        step: Duration::days(1),
        clusters: vec![],
        group: None,
    };
    let t = trends::trend(&pool, &q).await.unwrap();
    assert_eq!(points(&t, "eu"), vec![Some(3.0), None], "day 2: eu's only row moved to us");
    assert_eq!(points(&t, "us"), vec![None, Some(3.0)]);
    let fleet = trends::trend(&pool, &TrendQuery { by: SplitBy::Fleet, ..q.clone() }).await.unwrap();
    assert_eq!(
        points(&fleet, "fleet"),
        vec![Some(3.0), Some(3.0)],
        "the fleet totals are unchanged by a move"
    );
    let us = TrendQuery { by: SplitBy::Fleet, group: Some("us".into()), ..q };
    assert_eq!(points(&trends::trend(&pool, &us).await.unwrap(), "fleet"), vec![None, Some(3.0)]);
}

#[tokio::test]
async fn retention_prunes_old_detail_but_keeps_summaries_and_newer_results() {
    let pool = fresh_pool().await;
    let c = add_cluster(&pool, "old", None, &[]).await;
    let fail = |pod: &str| r("PAL-NET-001", pod, Area::Network, Severity::Medium, Status::Fail, "no policy");
    let pass = |pod: &str| r("PAL-NET-001", pod, Area::Network, Severity::Medium, Status::Pass, "isolated");
    let s1 = scan(&pool, c, vec![fail("a"), fail("b")], at(1, 1)).await;
    let s2 = scan(&pool, c, vec![pass("a"), fail("b")], at(2, 1)).await;
    let s3 = scan(&pool, c, vec![pass("a"), pass("b")], at(20, 1)).await;
    // Keep detail from day 10 on: s1 and s2 lose their per-result detail.
    let removed = scans::prune_detail(&pool, at(10, 0)).await.unwrap();
    assert_eq!(removed, 1, "only a's first change is needed by no retained scan");
    let s1 = scans::get(&pool, s1.id).await.unwrap();
    assert!(s1.detail_pruned);
    assert_eq!(s1.to_api().unwrap().summary.unwrap().by_status.fail, 2, "the summary is kept");
    let err = findings::results(&pool, &s1, &ResultFilter::default(), None, 10).await.unwrap_err();
    assert!(err.to_string().contains("pruned by the retention policy"), "{err}");
    let s2 = scans::get(&pool, s2.id).await.unwrap();
    assert!(s2.detail_pruned);
    assert_eq!(
        all_results(&pool, &s3).await,
        vec![
            ("PAL-NET-001".to_string(), "a".to_string(), "pass".to_string()),
            ("PAL-NET-001".to_string(), "b".to_string(), "pass".to_string())
        ],
        "newer scans are rebuilt exactly as before"
    );
    let first: Vec<DateTime<Utc>> =
        sqlx::query_scalar("SELECT first_seen_at FROM findings ORDER BY resource_name")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(first, vec![at(1, 1), at(1, 1)], "lifecycles are kept");
}

#[tokio::test]
async fn only_the_newest_snapshots_are_kept_and_the_latest_is_served() {
    let pool = fresh_pool().await;
    let c = add_cluster(&pool, "snaps", None, &[]).await;
    assert!(scans::latest_snapshot(&pool, c).await.unwrap().is_none());
    for day in 1..=4 {
        let (queued, _) = scans::request(&pool, c, None).await.unwrap();
        let claim = scans::claim(&pool, "test", 1, None, std::time::Duration::from_secs(30), 3)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(claim.id, queued.id);
        let snap = palisade::snapshot::Snapshot::new(
            palisade::snapshot::ClusterInfo { name: format!("snaps-day-{day}"), ..Default::default() },
            at(day, 1),
        );
        let outcome = ScanOutcome { results: vec![], snapshot: Some(snap), partial: false };
        scans::complete_as_of(&pool, &claim, &outcome, 3, Some(at(day, 1))).await.unwrap();
    }
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM scan_snapshots").fetch_one(&pool).await.unwrap();
    assert_eq!(kept, 3);
    let latest = scans::latest_snapshot(&pool, c).await.unwrap().unwrap();
    assert_eq!(latest.cluster.name, "snaps-day-4");
}

#[tokio::test]
async fn the_global_limit_caps_running_scans_across_replicas() {
    let pool = fresh_pool().await;
    for i in 0..3 {
        let c = add_cluster(&pool, &format!("limit-{i}"), None, &[]).await;
        scans::request(&pool, c, None).await.unwrap();
    }
    let lease = std::time::Duration::from_secs(30);
    let a = scans::claim(&pool, "replica-a", 10, Some(2), lease, 3).await.unwrap();
    assert_eq!(a.len(), 2);
    let b = scans::claim(&pool, "replica-b", 10, Some(2), lease, 3).await.unwrap();
    assert!(b.is_empty(), "two already run fleet-wide");
    scans::fail(&pool, &a[0], "the cluster could not be reached", None).await.unwrap();
    let b = scans::claim(&pool, "replica-b", 10, Some(2), lease, 3).await.unwrap();
    assert_eq!(b.len(), 1, "a slot freed up");
    // A stale token cannot write: the run that lost its lease is fenced out.
    let stale = scans::Claimed { lease_token: "replica-a/stale".into(), ..b[0].clone() };
    let outcome = ScanOutcome { results: vec![], snapshot: None, partial: false };
    assert!(matches!(
        scans::complete(&pool, &stale, &outcome, 0).await,
        Err(scans::ScanStoreError::LeaseLost)
    ));
}

#[tokio::test]
async fn purging_a_cluster_removes_its_findings_and_their_whole_history_and_nothing_else() {
    let pool = fresh_pool().await;
    let gone = add_cluster(&pool, "gone", None, &[]).await;
    let kept = add_cluster(&pool, "kept", None, &[]).await;
    let fail = |pod: &str| r("PAL-HOST-001", pod, Area::Host, Severity::High, Status::Fail, "privileged");
    let pass = |pod: &str| r("PAL-HOST-001", pod, Area::Host, Severity::High, Status::Pass, "not privileged");
    for c in [gone, kept] {
        scan(&pool, c, vec![fail("a"), fail("b")], at(1, 0)).await;
        scan(&pool, c, vec![pass("a"), fail("b")], at(2, 0)).await;
    }
    let changes_of = |c: Uuid| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM finding_changes ch WHERE ch.finding_id IN
                   (SELECT id FROM findings WHERE cluster_id = $1)",
            )
            .bind(c)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(changes_of(gone).await, 3, "two first appearances and one fix");
    let total_before: i64 =
        sqlx::query_scalar("SELECT count(*) FROM finding_changes").fetch_one(&pool).await.unwrap();
    assert_eq!(total_before, 6);

    let actor =
        palisade::store::audit::Actor { id: None, name: "tester".into(), address: None, admin: false };
    palisade::store::clusters::delete(&pool, gone, true, &actor).await.unwrap();

    let findings_left: i64 = sqlx::query_scalar("SELECT count(*) FROM findings WHERE cluster_id = $1")
        .bind(gone)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(findings_left, 0);
    let orphans: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM finding_changes ch WHERE NOT EXISTS (SELECT 1 FROM findings f WHERE f.id = ch.finding_id)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(orphans, 0, "the purged cluster's change rows went with its findings");
    assert_eq!(changes_of(kept).await, 3, "the other cluster's history is untouched");
}
