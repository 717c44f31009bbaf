//! A real headless Chromium against a server with the demo fleet: the trends page draws its SVG
//! chart, the network heatmap leads to a namespace's isolation, the RBAC page answers, an admin
//! registers a cluster from a pasted kubeconfig, and a viewer is refused the admin pages.
//! Screenshots go to `<CARGO_TARGET_TMPDIR>/screenshots/`.

use base64::Engine;
use fantoccini::Locator;
use palisade::domain::Role;

use crate::browser_support::{spawn_demo_app, Browser};
use crate::helpers::ADMIN_PASSWORD;

#[tokio::test]
async fn in_a_real_browser_trends_network_rbac_and_admin_pages_work_and_viewers_are_refused_admin() {
    let demo = spawn_demo_app().await;
    let app = &demo.app;
    // A demo cluster whose latest scan decides the network analysis.
    let mut with_matrix = None;
    for c in &demo.clusters {
        let resp = app
            .admin
            .get(app.url(&format!("/api/v1/clusters/{}/network/reachability", c.id)))
            .send()
            .await
            .unwrap();
        if resp.status() == 200 {
            with_matrix = Some(c.clone());
            break;
        }
    }
    let cluster = with_matrix.expect("a demo cluster has a reachability matrix");
    let server = crate::tls_fixture::spawn_version_server(&["127.0.0.1"]).await;
    let viewer = app.create_user(Role::Viewer).await;

    let browser = Browser::logged_in(app, "admin", ADMIN_PASSWORD).await;
    let b = &browser.client;
    let result = async {
        // Trends: an SVG chart drawn on the server, with a line per series.
        b.goto(&app.url("/trends?by=cluster")).await?;
        let chart = b.wait().for_element(Locator::Id("trend-chart")).await?;
        assert_eq!(chart.tag_name().await?, "svg");
        let lines = b.find_all(Locator::Css("#trend-chart g.series path")).await?;
        assert!(!lines.is_empty(), "a line per scanned cluster");
        let legend = b.find(Locator::Css("ul.legend")).await?.text().await?;
        assert!(legend.contains(&cluster.name), "{legend}");
        browser.screenshot("trends").await?;

        // Network: pick the cluster, read the heatmap, click through to a namespace.
        b.goto(&app.url("/network")).await?;
        b.wait().for_element(Locator::LinkText(&cluster.name)).await?.click().await?;
        let heatmap = b.wait().for_element(Locator::Id("heatmap")).await?;
        let cell = heatmap.find(Locator::Css("tbody td")).await?;
        let title = cell.attr("title").await?.unwrap_or_default();
        assert!(title.contains(" → "), "each cell says what it means: {title}");
        browser.screenshot("network-heatmap").await?;
        let link = heatmap.find(Locator::Css("tbody th a")).await?;
        let namespace = link.text().await?;
        link.click().await?;
        let h1 = b.wait().for_element(Locator::Css("main h1")).await?.text().await?;
        assert_eq!(h1, format!("Namespace {namespace}"));
        let isolation = b.find(Locator::Id("isolation")).await?.text().await?;
        assert!(isolation.contains("Ingress") && isolation.contains("Egress"), "{isolation}");
        browser.screenshot("network-namespace").await?;

        // RBAC: ask who can read secrets cluster-wide.
        b.goto(&app.url(&format!("/clusters/{}/rbac", cluster.id))).await?;
        b.wait().for_element(Locator::Css("#who-can input[name=verb]")).await?.send_keys("get").await?;
        b.find(Locator::Css("#who-can input[name=resource]")).await?.send_keys("secrets").await?;
        b.find(Locator::Css("#who-can button[type=submit]")).await?.click().await?;
        let answer = b.wait().for_element(Locator::Id("who-can-answer")).await?.text().await?;
        assert!(answer.contains("Who can get secrets"), "{answer}");
        b.find(Locator::Id("risky")).await?;
        browser.screenshot("rbac").await?;

        // Admin: register a cluster from a pasted kubeconfig; it answers.
        let ca = base64::engine::general_purpose::STANDARD.encode(&server.ca_pem);
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\n\
             users:\n- name: u\n  user:\n    token: browser-token\ncontexts:\n- name: ctx\n  context: {{cluster: c, user: u}}\ncurrent-context: ctx\n",
            server.url
        );
        b.find(Locator::LinkText("Admin")).await?.click().await?;
        b.wait().for_element(Locator::Id("users")).await?;
        b.find(Locator::Css("nav.subnav a[href='/admin/clusters']")).await?.click().await?;
        b.wait().for_element(Locator::Css("#register input[name=name]")).await?.send_keys("pasted-in-browser").await?;
        b.find(Locator::Css("#register input[name=labels]")).await?.send_keys("owner=secops").await?;
        b.find(Locator::Css("#register textarea[name=kubeconfig]")).await?.send_keys(&kubeconfig).await?;
        b.find(Locator::Css("#register button[type=submit]")).await?.click().await?;
        let notice = b.wait().for_element(Locator::Css("p.notice")).await?.text().await?;
        assert_eq!(notice, "Cluster registered.");
        let table = b.find(Locator::Id("clusters")).await?.text().await?;
        assert!(table.contains("pasted-in-browser") && table.contains("v1.33.1"), "{table}");
        browser.screenshot("admin-clusters").await?;
        b.goto(&app.url("/admin/audit")).await?;
        let audit = b.wait().for_element(Locator::Id("audit")).await?.text().await?;
        assert!(audit.contains("pasted-in-browser"), "{audit}");
        browser.screenshot("admin-audit").await?;

        // A viewer sees no Admin entry and is refused the admin pages.
        b.find(Locator::Css("form.logout button")).await?.click().await?;
        b.wait().for_element(Locator::Id("username")).await?;
        browser.login(app, &viewer.username, &viewer.password).await?;
        assert!(b.find(Locator::LinkText("Admin")).await.is_err(), "no Admin link for a viewer");
        for path in ["/admin/users", "/admin/tokens", "/admin/clusters", "/admin/audit"] {
            b.goto(&app.url(path)).await?;
            let h1 = b.wait().for_element(Locator::Css("main h1")).await?.text().await?;
            assert_eq!(h1, "Forbidden", "{path}");
        }
        browser.screenshot("viewer-admin-refused").await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    browser.close().await;
    result.expect("browser steps");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM clusters WHERE name = 'pasted-in-browser'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}
