//! Several `ferry serve` instances sharing one PostgreSQL (a private cluster each
//! test starts with `initdb`/`pg_ctl`): split pairs meet, messages keep their order
//! and arrive once, a client continues on another instance, a database restart
//! loses nothing, expiry runs once, and migrations run once.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::time::Duration;

use ferry_server::{Config, Database, PgStore, ServerHandle, Store};
use ferry_test_support::postgres::PgCluster;
use ferry_test_support::raw_mailbox::Client;
use ferry_test_support::server::{spawn, wait_metrics};
use serde_json::{json, Value};

fn on(pg: &PgCluster) -> Config {
    let mut cfg = Config::ephemeral();
    cfg.database = Database::Postgres(pg.url());
    cfg
}

async fn instances(pg: &PgCluster, n: usize) -> Vec<ServerHandle> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(spawn(on(pg)).await);
    }
    v
}

/// A cluster, started off the async runtime (it runs programs and waits).
async fn cluster() -> PgCluster {
    tokio::task::spawn_blocking(PgCluster::start).await.unwrap()
}

fn mailbox(h: &ServerHandle) -> std::net::SocketAddr {
    h.mailbox_addr().unwrap()
}

/// Reads message frames until `n` arrived; returns their bodies.
async fn bodies(c: &mut Client, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    while got.len() < n {
        let v = c.recv().await;
        assert_ne!(v["type"], "error", "{v}");
        if v["type"] == "message" {
            got.push(v["body"].as_str().unwrap().to_owned());
        }
    }
    got
}

async fn add(c: &mut Client, body: &str) {
    c.send(json!({"type": "add", "phase": "p", "body": body, "id": body}))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pair_split_across_instances_meets_and_every_message_arrives_once_in_order() {
    let pg = cluster().await;
    let s = instances(&pg, 2).await;
    let mut a = Client::bound(mailbox(&s[0]), "aaaa").await;
    let mut b = Client::bound(mailbox(&s[1]), "bbbb").await;
    a.cmd(json!({"type": "allocate"}), "al").await;
    let name = a.expect("allocated").await["nameplate"]
        .as_str()
        .unwrap()
        .to_owned();
    let mb_a = a.claim(&name).await;
    let mb_b = b.claim(&name).await;
    assert_eq!(mb_a, mb_b, "both instances resolve the code to one mailbox");
    a.open(&mb_a).await;
    b.open(&mb_b).await;
    // Interleaved adds from both instances: each side sees all of them once, in
    // the same order, whichever instance stored each.
    let sent: Vec<String> = (0..20).map(|i| format!("{i:02x}")).collect();
    for (i, body) in sent.iter().enumerate() {
        if i % 2 == 0 {
            add(&mut a, body).await;
        } else {
            add(&mut b, body).await;
        }
    }
    let seen_a = bodies(&mut a, 20).await;
    let seen_b = bodies(&mut b, 20).await;
    assert_eq!(seen_a, seen_b, "one order for both sides");
    let mut sorted = seen_a.clone();
    sorted.sort();
    assert_eq!(sorted, sent, "each message exactly once");
    a.silent_for(Duration::from_millis(300)).await;
    b.silent_for(Duration::from_millis(300)).await;
    // Both instances list the nameplate.
    let mut c = Client::bound(mailbox(&s[1]), "cccc").await;
    c.cmd(json!({"type": "list"}), "ls").await;
    let listed = c.expect("nameplates").await;
    assert_eq!(listed["nameplates"], json!([{"id": name}]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_continues_its_session_on_another_instance() {
    let pg = cluster().await;
    let s = instances(&pg, 2).await;
    let mut a = Client::bound(mailbox(&s[0]), "aaaa").await;
    let mb = a.claim("7").await;
    a.open(&mb).await;
    add(&mut a, "pake-a").await;
    assert_eq!(bodies(&mut a, 1).await, ["pake-a"]);
    drop(a); // its instance "dies" for it: it reconnects elsewhere

    let mut b = Client::bound(mailbox(&s[0]), "bbbb").await;
    assert_eq!(b.claim("7").await, mb);
    b.open(&mb).await;
    assert_eq!(bodies(&mut b, 1).await, ["pake-a"]);

    // The protocol's reconnect: same side, claim and open again, on instance 2.
    let mut a = Client::bound(mailbox(&s[1]), "aaaa").await;
    assert_eq!(a.claim("7").await, mb, "the claim is idempotent per side");
    a.open(&mb).await;
    assert_eq!(bodies(&mut a, 1).await, ["pake-a"], "its own message again");
    add(&mut b, "pake-b").await;
    assert_eq!(bodies(&mut a, 1).await, ["pake-b"]);
    assert_eq!(bodies(&mut b, 1).await, ["pake-b"]);
    // A third side is crowded out, across instances too.
    let mut c = Client::bound(mailbox(&s[1]), "cccc").await;
    c.cmd(json!({"type": "claim", "nameplate": "7"}), "cl")
        .await;
    c.expect_error("crowded").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn simultaneous_claims_on_two_instances_meet_in_one_mailbox() {
    let pg = cluster().await;
    let s = instances(&pg, 2).await;
    // Many codes at once, each claimed by one side on each instance at the same
    // time: every pair must end in one mailbox, and no two pairs share one.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (a, b) = (mailbox(&s[0]), mailbox(&s[1]));
        tasks.push(tokio::spawn(async move {
            let name = format!("{}", 100 + i);
            let (side_a, side_b) = (format!("a{i}"), format!("b{i}"));
            let (mut ca, mut cb) =
                tokio::join!(Client::bound(a, &side_a), Client::bound(b, &side_b));
            let (ma, mb) = tokio::join!(ca.claim(&name), cb.claim(&name));
            assert_eq!(ma, mb, "nameplate {name}");
            ma
        }));
    }
    let mut mailboxes = Vec::new();
    for t in tasks {
        mailboxes.push(t.await.unwrap());
    }
    mailboxes.sort();
    mailboxes.dedup();
    assert_eq!(mailboxes.len(), 40);
    assert_eq!(pg.psql("SELECT COUNT(*) FROM ferry_mailboxes"), "40");
}

/// The reply to a command while the database is down: an error, not a hang.
async fn fails_cleanly(c: &mut Client, v: Value) {
    c.send(v).await;
    loop {
        let r = c.recv().await;
        match r["type"].as_str().unwrap() {
            "ack" => continue,
            "error" => return,
            other => panic!("expected an error while PostgreSQL is down, got {other}: {r}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_restart_loses_nothing_and_needs_no_server_restart() {
    let mut pg = cluster().await;
    let s = instances(&pg, 2).await;
    let mut a = Client::bound(mailbox(&s[0]), "aaaa").await;
    let mut b = Client::bound(mailbox(&s[1]), "bbbb").await;
    let mb = a.claim("12").await;
    assert_eq!(b.claim("12").await, mb);
    a.open(&mb).await;
    b.open(&mb).await;
    add(&mut a, "before").await;
    assert_eq!(bodies(&mut b, 1).await, ["before"]);
    assert_eq!(bodies(&mut a, 1).await, ["before"]);

    let pg = tokio::task::spawn_blocking(move || {
        pg.stop_server();
        pg
    })
    .await
    .unwrap();
    fails_cleanly(
        &mut a,
        json!({"type": "add", "phase": "p", "body": "lost", "id": "x"}),
    )
    .await;
    let mut pg = pg;
    let pg = tokio::task::spawn_blocking(move || {
        pg.start_server();
        pg
    })
    .await
    .unwrap();

    // Requests succeed again (after the reconnect backoff), on both instances.
    let mut after = None;
    for i in 0..100 {
        let body = format!("after{i}");
        add(&mut b, &body).await;
        let r = b.recv().await;
        if r["type"] == "ack" {
            after = Some(body);
            break;
        }
        assert_eq!(r["type"], "error", "{r}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = after.expect("PostgreSQL is used again within 10 s");
    assert_eq!(bodies(&mut b, 1).await, std::slice::from_ref(&after));
    assert_eq!(
        bodies(&mut a, 1).await,
        std::slice::from_ref(&after),
        "across instances"
    );
    // Nothing lost, nothing doubled, the failed add not half-applied.
    let mut c = Client::bound(mailbox(&s[0]), "aaaa").await;
    c.open(&mb).await;
    assert_eq!(bodies(&mut c, 2).await, ["before".to_owned(), after]);
    c.silent_for(Duration::from_millis(300)).await;
    assert_eq!(
        pg.psql("SELECT COUNT(*) FROM ferry_messages WHERE body = 'lost'"),
        "0"
    );
    assert_eq!(pg.psql("SELECT COUNT(*) FROM ferry_nameplates"), "1");
}

#[tokio::test(flavor = "multi_thread")]
async fn expiry_with_two_instances_cleans_each_mailbox_exactly_once() {
    let pg = cluster().await;
    let mut cfg = on(&pg);
    cfg.timing.mailbox_expiry = Duration::from_millis(300);
    cfg.timing.expiry_check = Duration::from_millis(100);
    let s = [spawn(cfg.clone()).await, spawn(cfg).await];
    for i in 0..10 {
        let mut c = Client::bound(mailbox(&s[i % 2]), &format!("s{i}")).await;
        c.claim(&format!("{}", 200 + i)).await;
        // Gone without releasing: only expiry cleans up.
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while pg.psql("SELECT COUNT(*) FROM ferry_mailboxes") != "0" {
        assert!(tokio::time::Instant::now() < deadline, "expiry ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pg.psql("SELECT COUNT(*) FROM ferry_nameplates"), "0");
    assert_eq!(
        pg.psql("SELECT COUNT(*) FROM ferry_usage WHERE kind = 'mailbox' AND result = 'pruney'"),
        "10",
        "one usage record per mailbox: never cleaned twice"
    );
    let pruned = |h: &ServerHandle| -> u64 {
        let m = h.metrics_text();
        m.lines()
            .find(|l| l.starts_with("ferry_mailbox_results_total{result=\"pruney\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    wait_metrics(&s[0], |_| pruned(&s[0]) + pruned(&s[1]) == 10).await;
    assert_eq!(
        pruned(&s[0]) + pruned(&s[1]),
        10,
        "the instances' counts add up"
    );
}

#[test]
fn instances_starting_together_migrate_once() {
    let pg = PgCluster::start();
    let url = pg.url();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PgStore::connect(&url).map(drop))
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    // Each version once, none skipped.
    assert_eq!(
        pg.psql("SELECT COUNT(*) = COUNT(DISTINCT version) AND COUNT(*) = MAX(version) AND COUNT(*) > 1 FROM ferry_schema"),
        "t"
    );
    // And a store on it works.
    let mut s = PgStore::connect(&url).unwrap();
    assert_eq!(s.count_mailboxes().unwrap(), 0);
    s.commit().unwrap();
}

#[test]
fn a_database_newer_than_this_ferry_is_refused() {
    let pg = PgCluster::start();
    PgStore::connect(&pg.url()).unwrap();
    pg.psql("INSERT INTO ferry_schema (version) VALUES (999)");
    let e = PgStore::connect(&pg.url()).unwrap_err();
    assert!(e.to_string().contains("newer than this ferry"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_database_fails_the_start_clearly() {
    let mut cfg = Config::ephemeral();
    // A port nobody listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    cfg.database = Database::Postgres(format!("postgres://ferry:pw@127.0.0.1:{port}/ferry"));
    let e = ferry_server::Server::spawn(cfg).await.unwrap_err();
    let text = e.to_string();
    assert!(text.contains("cannot connect to PostgreSQL"), "{text}");
    assert!(
        text.contains("Connection refused"),
        "the cause is named: {text}"
    );
    assert!(!text.contains("pw@"), "no password in errors: {text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn relay_halves_on_two_instances_meet_through_the_database() {
    use ferry_test_support::raw_relay::{read_n, relay_line, relay_tcp, token};
    use tokio::io::AsyncWriteExt;
    let pg = cluster().await;
    let s = instances(&pg, 2).await;
    let (r0, r1) = (
        s[0].relay_tcp_addr().unwrap(),
        s[1].relay_tcp_addr().unwrap(),
    );
    for round in 0..3u8 {
        let t = token(round);
        let mut a = relay_tcp(r0, &relay_line(&t, Some("aaaaaaaaaaaaaaaa"))).await;
        // The first half waits at instance 0, which now owns the token (the
        // last round's entry may not be released yet: ask for this one).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let owned = format!("SELECT COUNT(*) FROM ferry_relay_tokens WHERE token = '{t}'");
        while pg.psql(&owned) != "1" {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the token is claimed"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut b = relay_tcp(r1, &relay_line(&t, Some("bbbbbbbbbbbbbbbb"))).await;
        assert_eq!(read_n(&mut a, 3).await, b"ok\n");
        assert_eq!(read_n(&mut b, 3).await, b"ok\n");
        a.write_all(b"from a").await.unwrap();
        b.write_all(b"from b").await.unwrap();
        assert_eq!(read_n(&mut b, 6).await, b"from a");
        assert_eq!(read_n(&mut a, 6).await, b"from b");
    }
    wait_metrics(&s[1], |m| m.contains("ferry_relay_forwarded_total 3")).await;
    assert!(s[1]
        .metrics_text()
        .contains("ferry_relay_forwarded_total 3"));
    // Both instances found the same secret in the database.
    assert_eq!(pg.psql("SELECT COUNT(*) FROM ferry_pool"), "1");
}
