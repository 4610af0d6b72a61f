//! A TCP load balancer in round robin, as haproxy in TCP mode would be: the
//! n-th connection goes to backend n mod len, byte for byte. Tests use it to
//! split the two halves of a pair across instances on purpose.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// A running balancer; dropping it closes the listener and every connection.
pub struct Balancer {
    pub addr: SocketAddr,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicUsize>,
    _tasks: JoinSet<()>,
}

impl Balancer {
    pub async fn start(backends: Vec<SocketAddr>) -> Balancer {
        assert!(!backends.is_empty(), "a balancer needs a backend");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let mut tasks = JoinSet::new();
        tasks.spawn(accept(listener, backends, accepted.clone()));
        Balancer {
            addr,
            accepted,
            _tasks: tasks,
        }
    }
}

async fn accept(listener: TcpListener, backends: Vec<SocketAddr>, accepted: Arc<AtomicUsize>) {
    let mut conns = JoinSet::new();
    while let Ok((client, _)) = listener.accept().await {
        let n = accepted.fetch_add(1, Ordering::SeqCst);
        let backend = backends[n % backends.len()];
        conns.spawn(forward(client, backend));
    }
}

async fn forward(mut client: TcpStream, backend: SocketAddr) {
    if let Ok(mut server) = TcpStream::connect(backend).await {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}
