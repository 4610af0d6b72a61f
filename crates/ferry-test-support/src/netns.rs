//! Runs a multicast test inside a private network namespace, so its datagrams
//! can reach nothing but that namespace's loopback.
//!
//! The outer run (plain `cargo test`) re-executes this test binary for just
//! that test under `unshare --net` and checks its exit status; the inner run
//! (marked by [`INNER`]) brings `lo` up, routes multicast to it, checks that
//! loopback is all there is, and runs the body. Without `unshare` (not root,
//! no CAP_SYS_ADMIN) the test fails: a skipped network test reads as a pass.

use std::future::Future;
use std::process::Stdio;
use std::time::Duration;

/// Set in the environment of the inner run.
const INNER: &str = "FERRY_TEST_IN_PRIVATE_NETNS";

/// Names the file the inner run writes once the body passed: a selection that
/// matched no test would exit 0 too, and must not read as a pass.
const MARK: &str = "FERRY_TEST_NETNS_MARK";

/// Bounds the whole inner run, start-up included.
const OUTER_TIMEOUT: Duration = Duration::from_secs(90);

/// Bounds the test body inside the namespace.
const BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `body` in a private network namespace. `module` is the caller's
/// `module_path!()` and `test` its function name (to select it with `--exact`).
pub fn run<F, Fut>(module: &str, test: &str, body: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    if std::env::var_os(INNER).is_some() {
        prepare_namespace();
        runtime().block_on(async {
            let outcome = tokio::time::timeout(BODY_TIMEOUT, body()).await;
            outcome.expect("test body timed out inside the namespace");
        });
        if let Some(mark) = std::env::var_os(MARK) {
            std::fs::write(mark, "ran").expect("marking the body as run");
        }
    } else {
        let name = test_path(module, test);
        runtime().block_on(run_inner(&name));
    }
}

fn runtime() -> tokio::runtime::Runtime {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    rt.expect("tokio runtime")
}

/// `ferry::lan::discovery::netns_tests` + `x` → `lan::discovery::netns_tests::x`,
/// the name libtest knows the test by (just `x` at an integration test's top).
fn test_path(module: &str, test: &str) -> String {
    match module.split_once("::") {
        Some((_, inside_crate)) => format!("{inside_crate}::{test}"),
        None => test.to_owned(),
    }
}

async fn run_inner(name: &str) {
    let exe = std::env::current_exe().expect("path of the test binary");
    let mut cmd = tokio::process::Command::new("unshare");
    cmd.arg("--net").arg("--").arg(exe);
    cmd.args(["--exact", name, "--nocapture", "--test-threads=1"]);
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let mark = scratch.path().join("ran");
    cmd.env(INNER, "1").env(MARK, &mark);
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    let mut child = cmd.spawn().unwrap_or_else(|e| {
        panic!("cannot start `unshare --net` ({e}): the multicast tests need it (root or CAP_SYS_ADMIN) and fail rather than skip")
    });
    let status = tokio::time::timeout(OUTER_TIMEOUT, child.wait()).await;
    let status = status
        .unwrap_or_else(|_| panic!("`{name}` in its namespace ran over {OUTER_TIMEOUT:?}"))
        .expect("waiting for the namespace run");
    assert!(
        status.success(),
        "`{name}` failed in its private network namespace ({status}); see its output above. \
         If `unshare` reported an error, this machine does not allow private network \
         namespaces (root or CAP_SYS_ADMIN needed) and the test cannot run"
    );
    assert!(mark.exists(), "`{name}` ran no test body in its namespace");
}

/// Loopback up with the multicast route, and proof that nothing else exists
/// before the body sends a single datagram.
fn prepare_namespace() {
    ip(&["link", "set", "lo", "up"]);
    ip(&["route", "add", "224.0.0.0/4", "dev", "lo"]);
    let interfaces = if_addrs::get_if_addrs().expect("list interfaces");
    let outside: Vec<_> = interfaces.iter().filter(|i| !i.is_loopback()).collect();
    assert!(outside.is_empty(), "not a private namespace: {outside:?}");
}

fn ip(args: &[&str]) {
    let status = std::process::Command::new("ip").args(args).status();
    let status = status.unwrap_or_else(|e| panic!("cannot run `ip` ({e}): iproute2 needed"));
    assert!(status.success(), "`ip {}` failed: {status}", args.join(" "));
}
