//! The dashboard pages, read as HTML over real HTTP against a server scanning the demo fleet:
//! the fleet overview, cluster, check, findings and diff pages, "Scan now" (CSRF, roles), the
//! live scan status and the exports.

use chrono::Utc;
use palisade::checks::{CheckResult, ResourceRef};
use palisade::domain::{Area, Role, Severity, Status};
use palisade::store::audit::Actor;
use palisade::store::dashboard::{self, ExplorerFilter};
use palisade::store::scans::{self, ScanOutcome};
use palisade::store::trends::{self, FleetScope};
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::browser_support::{spawn_demo_app, wait_for_finished_scan, DemoApp};
use crate::helpers::{cookie_client, spawn_app, TestApp, ADMIN_PASSWORD};
use crate::history_support::add_cluster;

async fn get_html(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let resp = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), 200, "GET {path}");
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/html"), "{ct}");
    resp.text().await.unwrap()
}

async fn admin_session(app: &TestApp) -> (reqwest::Client, String) {
    app.login("admin", ADMIN_PASSWORD).await
}

fn cluster<'a>(demo: &'a DemoApp, name: &str) -> &'a palisade::store::clusters::Cluster {
    demo.clusters.iter().find(|c| c.name == name).unwrap()
}

/// The text from `id="{id}"` (a table) to its `</table>`.
fn table<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!(" id=\"{id}\"")).unwrap_or_else(|| panic!("no table {id} in {html}"));
    let end = html[start..].find("</table>").unwrap() + start;
    &html[start..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_overview_shows_every_cluster_with_its_score_areas_and_worst_checks() {
    let demo = spawn_demo_app().await;
    let app = &demo.app;
    let (client, _) = admin_session(app).await;
    let html = get_html(&client, app, "/").await;
    let fleet = table(&html, "fleet");
    for c in trends::fleet_overview(&app.pool).await.unwrap() {
        assert!(
            fleet.contains(&format!("<a href=\"/clusters/{}\">{}</a>", c.cluster_id, c.name)),
            "{}",
            c.name
        );
        let score = format!("{:.1}", c.score.unwrap_or_else(|| panic!("no score: {c:?}")));
        assert!(fleet.contains(&score), "{} score {score} not shown", c.name);
    }
    assert!(fleet.contains("fail ("), "an area of a failing cluster says fail in words");
    assert!(fleet.contains("<svg class=\"spark\""), "a sparkline is drawn");
    let worst = table(&html, "worst-checks");
    assert!(worst.contains("/checks/PAL-"), "{worst}");
    assert!(html.contains("Data collected at"), "the page says when its data was collected");
    assert!(html.contains(">Findings</a>") && html.contains(">Trends</a>") && html.contains(">Admin</a>"));

    // Filters: a label nobody has shows the empty state; the demo label shows all four.
    let none = get_html(&client, app, "/?label=environment%3Dnowhere").await;
    assert!(none.contains("No cluster matches these filters"), "{none}");
    let all = get_html(&client, app, "/?label=demo%3Dtrue").await;
    assert!(all.contains("Clusters 1–4 of 4, worst score first."), "{all}");
}

fn paged_result(i: usize, status: Status) -> CheckResult {
    CheckResult {
        check_id: format!("PAL-AUTHZ-{:03}", 100 + i % 4),
        title: format!("check {}", i % 4),
        area: if i % 2 == 0 { Area::Authz } else { Area::Network },
        severity: [Severity::Critical, Severity::High, Severity::Medium, Severity::Low][i % 4],
        status,
        resource: ResourceRef {
            kind: "ClusterRoleBinding".into(),
            namespace: (i % 3 == 0).then(|| format!("ns-{}", i % 2)),
            name: format!("binding-{}", i / 4),
            node: None,
        },
        evidence: format!("binding-{} evidence {i}", i / 4),
        source: None,
        refs: vec![],
    }
}

/// Store `results` for `cluster` as the scheduler stores them.
async fn store_results(pool: &sqlx::PgPool, cluster: Uuid, results: Vec<CheckResult>) {
    scans::request(pool, cluster, None).await.unwrap();
    let claim =
        scans::claim(pool, "test", 1, None, std::time::Duration::from_secs(30), 3).await.unwrap().remove(0);
    assert_eq!(claim.cluster_id, cluster);
    scans::complete(pool, &claim, &ScanOutcome { results, snapshot: None, partial: false }, 1).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_fleet_is_paged_worst_first_and_its_read_model_follows_every_stored_scan() {
    let app = spawn_app().await;
    let pool = &app.pool;
    // 60 clusters; cluster k fails k % 12 of its 12 results, so scores spread and repeat.
    let mut ids = Vec::new();
    for k in 0..60 {
        let id =
            add_cluster(pool, &format!("fleet-{k:02}"), Some(if k % 2 == 0 { "even" } else { "odd" }), &[])
                .await;
        let results =
            (0..12).map(|i| paged_result(i, if i < k % 12 { Status::Fail } else { Status::Pass })).collect();
        store_results(pool, id, results).await;
        ids.push(id);
    }
    let (client, _) = admin_session(&app).await;
    let first = get_html(&client, &app, "/").await;
    assert!(first.contains("Clusters 1–50 of 60, worst score first."), "{first}");
    let rows = table(&first, "fleet");
    assert_eq!(rows.matches("<tr class=\"cluster\">").count(), 50);
    // Worst first: the shown scores never go up.
    let scores: Vec<f64> = rows
        .split("<td class=\"score\">")
        .skip(1)
        .map(|r| r[..r.find('<').unwrap()].parse().unwrap())
        .collect();
    assert_eq!(scores.len(), 50);
    assert!(scores.windows(2).all(|w| w[0] <= w[1]), "{scores:?}");
    assert!(first.contains("href=\"/?page=2\""), "a next page link");
    let second = get_html(&client, &app, "/?page=2").await;
    assert!(second.contains("Clusters 51–60 of 60"), "{second}");
    assert_eq!(table(&second, "fleet").matches("<tr class=\"cluster\">").count(), 10);
    let by_name = get_html(&client, &app, "/?sort=name&group=even").await;
    assert!(by_name.contains("Clusters 1–30 of 30 matching (60 in the fleet)."), "{by_name}");
    let t = table(&by_name, "fleet");
    assert!(t.find(">fleet-00<").unwrap() < t.find(">fleet-02<").unwrap());
    assert!(!t.contains(">fleet-01<"));
    let bad = client.get(app.url("/?sort=sideways")).send().await.unwrap();
    assert_eq!(bad.status(), 400);

    // The read model agrees with the findings it summarises, before and after a scan changes them.
    let c = ids[11];
    for round in 0..3 {
        let worst = dashboard::failing_checks(pool, &FleetScope::default(), 100).await.unwrap();
        let direct: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT check_id, count(DISTINCT cluster_id), count(*) FROM findings WHERE status = 'fail'
             GROUP BY check_id ORDER BY check_id",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        let mut from_model: Vec<(String, i64, i64)> =
            worst.iter().map(|w| (w.check_id.clone(), w.clusters, w.resources)).collect();
        from_model.sort();
        assert_eq!(from_model, direct, "round {round}");
        for status in ["open", "fail"] {
            let stored = ExplorerFilter { status: status.into(), cluster: Some(c), ..Default::default() };
            // Any age filter takes the grouping path; this one matches every finding.
            let live = ExplorerFilter {
                seen_before: Some(Utc::now() + chrono::Duration::days(1)),
                ..stored.clone()
            };
            let a = dashboard::explore_by_resource(pool, &stored, 0, 100).await.unwrap();
            let b = dashboard::explore_by_resource(pool, &live, 0, 100).await.unwrap();
            let key = |v: &[dashboard::ResourceRisks]| {
                v.iter()
                    .map(|r| (r.resource.name.clone(), r.severity.clone(), r.checks.clone(), r.areas.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(key(&a), key(&b), "round {round}, {status}");
            assert!(!a.is_empty(), "cluster fleet-11 has open findings");
        }
        let direct_crit: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT COALESCE(resource_namespace, '') || '/' || resource_name) FROM findings WHERE cluster_id = $1 AND status = 'fail' AND severity = 'critical'",
        )
        .bind(c)
        .fetch_one(pool)
        .await
        .unwrap();
        let model = dashboard::critical_high_resources(pool, &[c]).await.unwrap();
        assert_eq!(model[0].1, direct_crit, "round {round}");
        let open = dashboard::open_checks(pool, c).await.unwrap();
        let open_total: i64 = open.iter().map(|o| o.resources).sum();
        assert_eq!(open_total, [11, 11, 6][round], "round {round}: {open:?}");
        // Next: 28 passing results more (most findings written: the whole read model is rebuilt),
        // then five of the eleven failures fixed and one more result warning (6 of 40 written:
        // only their checks and resources are).
        let status = |i: usize| match (round, i) {
            (0, i) if i < 11 => Status::Fail,
            (1, 0..=4) => Status::Fail,
            (1, 5) => Status::Warn,
            _ => Status::Pass,
        };
        if round < 2 {
            store_results(pool, c, (0..40).map(|i| paged_result(i, status(i))).collect()).await;
        }
    }
    // Failing now: results 0-4, on binding-0 in ns-0, in ns-1 and cluster-wide, and binding-1.
    assert_eq!(dashboard::failing_resource_count(pool, c).await.unwrap(), 4);

    // A cluster's first results are all new: the page says so instead of listing them.
    let first = get_html(&client, &app, &format!("/clusters/{}", ids[12])).await;
    assert!(first.contains("id=\"diff-first\"") && !first.contains("id=\"diff-new\""), "{first}");
    let later = get_html(&client, &app, &format!("/clusters/{c}")).await;
    assert!(later.contains("id=\"diff-new\"") && !later.contains("id=\"diff-first\""), "{later}");

    // Deleted clusters leave the fleet totals: one kept as history, one purged.
    for (k, purge) in [(11, false), (23, true)] {
        palisade::store::clusters::delete(pool, ids[k], purge, &Actor::system()).await.unwrap();
    }
    let worst = dashboard::failing_checks(pool, &FleetScope::default(), 100).await.unwrap();
    let mut from_model: Vec<(String, i64, i64)> =
        worst.iter().map(|w| (w.check_id.clone(), w.clusters, w.resources)).collect();
    from_model.sort();
    let live: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT f.check_id, count(DISTINCT f.cluster_id), count(*) FROM findings f JOIN clusters c ON c.id = f.cluster_id
         WHERE f.status = 'fail' AND c.deleted_at IS NULL GROUP BY f.check_id ORDER BY f.check_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(from_model, live, "after deleting fleet-11 and purging fleet-23");
    let gone = get_html(&client, &app, "/?sort=name").await;
    assert!(gone.contains("of 58") && !gone.contains(">fleet-11<"), "{gone}");
}

#[tokio::test]
async fn an_empty_fleet_says_how_to_add_a_cluster_and_anonymous_visitors_go_to_login() {
    let app = spawn_app().await;
    let anon = cookie_client();
    for path in ["/", "/findings", "/findings.csv", "/checks", "/checks/PAL-AUTHN-001"] {
        let resp = anon.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(resp.headers()["location"], "/login", "{path}");
    }
    let (client, _) = admin_session(&app).await;
    let html = get_html(&client, &app, "/").await;
    assert!(html.contains("No clusters registered yet"), "{html}");
    assert!(html.contains("No scan data collected yet."), "{html}");
    let findings = get_html(&client, &app, "/findings").await;
    assert!(findings.contains("No finding matches these filters"), "{findings}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_page_groups_failing_checks_by_area_and_failing_resources_by_resource() {
    let demo = spawn_demo_app().await;
    let app = &demo.app;
    let legacy = cluster(&demo, "legacy");
    let (client, _) = admin_session(app).await;
    let html = get_html(&client, app, &format!("/clusters/{}", legacy.id)).await;
    for area in ["host", "authn", "authz", "tls", "network"] {
        assert!(html.contains(&format!("id=\"area-{area}\"")), "area {area}");
    }
    // Every open check of the cluster is one row with its resource count.
    let open: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT area, check_id, count(*) FROM findings WHERE cluster_id = $1 AND status IN ('fail', 'warn')
         GROUP BY area, check_id",
    )
    .bind(legacy.id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(!open.is_empty());
    for (area, check, n) in &open {
        let t = table(&html, &format!("checks-{area}"));
        assert!(t.contains(&format!("<a href=\"/checks/{check}\">{check}</a>")), "{check} in {area}");
        assert!(t.contains(&format!("check={check}\">{n}</a>")), "{check} fails on {n} resources");
    }
    // One row per failing resource: fewer rows than failing results, checks as tags.
    let fails: i64 = open.iter().map(|o| o.2).sum();
    let resources = table(&html, "resources");
    let rows = resources.matches("<tr>").count() - 1;
    assert!(rows > 0 && (rows as i64) < fails, "{rows} resource rows for {fails} open results");
    assert!(resources.contains("class=\"tag\""));
    assert!(html.contains("id=\"scan-now\""), "an admin sees Scan now");
    assert!(table(&html, "history").contains("succeeded") || table(&html, "history").contains("partial"));
    assert!(html.contains("Not collected"), "certificate expiry is said to be not collected");
    assert!(html.contains("No node agents report"), "the agents section says none report yet");
    assert!(html.contains("Data collected at"));

    let missing = client.get(app.url(&format!("/clusters/{}", uuid::Uuid::new_v4()))).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_now_needs_an_editor_and_the_csrf_token_and_its_progress_is_served_as_json() {
    let demo = spawn_demo_app().await;
    let app = &demo.app;
    let hardened = cluster(&demo, "hardened");
    let scans = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM scans WHERE cluster_id = $1")
            .bind(hardened.id)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let before = scans().await;
    let path = format!("/clusters/{}/scan", hardened.id);

    // A viewer sees no control, and the server refuses the post even with a valid token.
    let viewer = app.create_user(Role::Viewer).await;
    let (vclient, vcsrf) = app.login(&viewer.username, &viewer.password).await;
    let page = get_html(&vclient, app, &format!("/clusters/{}", hardened.id)).await;
    assert!(!page.contains("id=\"scan-now\""), "a viewer sees no Scan now button");
    let resp = vclient.post(app.url(&path)).form(&[("csrf_token", vcsrf.as_str())]).send().await.unwrap();
    assert_eq!(resp.status(), 403);

    // An admin without or with a wrong token is refused too.
    let (client, csrf) = admin_session(app).await;
    let resp = client.post(app.url(&path)).form(&[("csrf_token", "forged")]).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    let resp = client.post(app.url(&path)).form::<[(&str, &str); 0]>(&[]).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(scans().await, before, "no refused post queued a scan");

    // With the token: queued, back to the page, and the status JSON follows it to the end.
    let resp = client.post(app.url(&path)).form(&[("csrf_token", csrf.as_str())]).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(resp.headers()["location"].to_str().unwrap().contains("notice=queued"));
    assert_eq!(scans().await, before + 1);
    let status_url = app.url(&format!("/clusters/{}/scan.json", hardened.id));
    let first: Value = client.get(&status_url).send().await.unwrap().json().await.unwrap();
    assert!(first["scan_id"].is_string(), "{first}");
    let scan = wait_for_finished_scan(app, hardened.id).await;
    let last: Value = client.get(&status_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(last["scan_id"], scan["id"]);
    assert_eq!(last["active"], false);
    assert_eq!(last["state"], scan["state"]);
    let page = get_html(&client, app, &format!("/clusters/{}", hardened.id)).await;
    assert!(page.contains("data-active=\"false\""));

    // The diff page compares the two scans.
    let diff = get_html(&client, app, &format!("/clusters/{}/diff", hardened.id)).await;
    assert!(diff.contains("id=\"diff-new\"") && diff.contains("id=\"diff-resolved\""), "{diff}");
    assert!(diff.contains(" new, "), "{diff}");
    let bad = client
        .get(app.url(&format!("/clusters/{}/diff?from={}", hardened.id, uuid::Uuid::new_v4())))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_findings_explorer_filters_and_its_exports_hold_exactly_the_rows_shown() {
    let demo = spawn_demo_app().await;
    let app = &demo.app;
    let legacy = cluster(&demo, "legacy");
    let (client, _) = admin_session(app).await;
    let query = format!("cluster={}&status=fail&sort=check&per_page=25", legacy.id);
    let html = get_html(&client, app, &format!("/findings?{query}")).await;
    let shown = table(&html, "findings");
    let rows = shown.matches("<tr>").count() - 1;
    assert!(rows > 0 && rows <= 25, "{rows}");
    assert!(!shown.contains(">kubeadm-default<") && !shown.contains(">hardened<"), "only legacy rows");
    let i = html.find("id=\"export-csv\"").expect("an Export CSV link");
    assert!(
        html[i..i + 200].contains(&format!("/findings.csv?cluster={}&#38;status=fail", legacy.id)),
        "{}",
        &html[i..i + 200]
    );

    let resp = client.get(app.url(&format!("/findings.csv?{query}&page=1"))).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(resp.headers()["content-disposition"].to_str().unwrap().contains("findings.csv"));
    let csv = resp.text().await.unwrap();
    let mut lines = csv.split("\r\n").filter(|l| !l.is_empty());
    let header = lines.next().unwrap();
    for col in ["check_id", "cluster", "resource", "severity", "status", "first_seen", "evidence"] {
        assert!(header.split(',').any(|h| h == col), "{col} in {header}");
    }
    // Same rows in the same order as the page (evidence may hold line breaks: count records
    // by the check id column of the page instead of by lines).
    let page_checks: Vec<&str> = shown
        .match_indices("<a href=\"/checks/")
        .map(|(i, _)| &shown[i + 17..][..shown[i + 17..].find('"').unwrap()])
        .collect();
    assert_eq!(page_checks.len(), rows);
    let json: Value =
        client.get(app.url(&format!("/findings.json?{query}"))).send().await.unwrap().json().await.unwrap();
    let items = json["items"].as_array().unwrap();
    let json_checks: Vec<&str> = items.iter().map(|i| i["check_id"].as_str().unwrap()).collect();
    assert_eq!(json_checks, page_checks);
    assert!(items.iter().all(|i| i["cluster"] == "legacy" && i["status"] == "fail"));
    let csv_first: Vec<&str> = csv
        .split("\r\n")
        .skip(1)
        .filter(|l| l.starts_with("PAL-"))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(csv_first.len(), rows, "{csv}");
    assert_eq!(csv_first, page_checks);

    // Grouped by resource: fewer rows than findings, the checks as tags.
    let all_fail = format!("cluster={}&status=fail&per_page=500", legacy.id);
    let by_finding = get_html(&client, app, &format!("/findings?{all_fail}")).await;
    let by_resource = get_html(&client, app, &format!("/findings?{all_fail}&view=resource")).await;
    let n_findings = table(&by_finding, "findings").matches("<tr>").count() - 1;
    let n_resources = table(&by_resource, "findings").matches("<tr>").count() - 1;
    assert!(n_resources < n_findings, "{n_resources} resources for {n_findings} findings");
    assert!(by_resource.contains("class=\"tag\""));

    // A bad filter is a clear 400, not an empty page.
    let resp = client.get(app.url("/findings?severity=dire")).send().await.unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_page_explains_the_check_and_lists_where_it_fails_with_evidence() {
    let demo = spawn_demo_app().await;
    let app = &demo.app;
    let (client, _) = admin_session(app).await;
    let (check, cluster_name, evidence): (String, String, String) = sqlx::query_as(
        "SELECT f.check_id, c.name, f.evidence FROM findings f JOIN clusters c ON c.id = f.cluster_id
         WHERE f.status = 'fail' ORDER BY f.check_id LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let info = palisade::checks::find(&check).unwrap();
    let html = get_html(&client, app, &format!("/checks/{check}")).await;
    assert!(html.contains(&askama_escape(info.meta.title)), "title");
    assert!(html.contains("id=\"rationale\"") && html.contains("id=\"remediation\""));
    let failures = table(&html, "failures");
    assert!(failures.contains(&format!(">{cluster_name}</a>")), "{failures}");
    assert!(failures.contains(&askama_escape(&evidence)), "evidence shown");
    let list = get_html(&client, app, "/checks").await;
    assert!(list.contains(&format!("<a href=\"/checks/{check}\">{check}</a>")));
    assert_eq!(client.get(app.url("/checks/PAL-NOPE-999")).send().await.unwrap().status(), 404);
}

/// HTML-escape like askama does, to find text in a page.
fn askama_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
