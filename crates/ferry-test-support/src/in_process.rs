//! Both sides of a transfer through the `ferry` library, in one process, meeting
//! on an in-process server ([`crate::server`]).

use std::path::Path;
use std::time::Duration;

use ferry::transit::{Listen, Relay, TransitConfig};
use ferry::{
    CodeChoice, MailboxConfig, Payload, ReceiveOptions, Received, RendezvousObserver, SendOptions,
    Ui,
};
use ferry_proto::code::Code;
use ferry_proto::transit::hints::DirectHint;
use ferry_server::ServerHandle;

pub const LIMIT: Duration = Duration::from_secs(120);

/// Accepts everything and remembers warnings.
#[derive(Default)]
pub struct TestUi {
    pub warnings: Vec<String>,
    pub offers: Vec<ferry::OfferSummary>,
}

impl RendezvousObserver for TestUi {}

impl Ui for TestUi {
    fn warn(&mut self, message: &str) {
        self.warnings.push(message.to_owned());
    }

    fn accept(&mut self, offer: &ferry::OfferSummary) -> bool {
        self.offers.push(offer.clone());
        true
    }
}

/// One side's settings: ferry's native capability unless `plain`.
pub fn mailbox(h: &ServerHandle, plain: bool) -> MailboxConfig {
    MailboxConfig {
        url: format!("ws://{}/v1", h.mailbox_addr().expect("mailbox")),
        appid: ferry_proto::transfer::DEFAULT_APPID.into(),
        app_versions: if plain {
            serde_json::json!({})
        } else {
            ferry::native::app_versions()
        },
        timing: ferry::Timing::default(),
        trust: Default::default(),
    }
}

pub fn transit(h: &ServerHandle) -> TransitConfig {
    let relay = h.relay_tcp_addr().expect("relay");
    TransitConfig {
        relay: Some(Relay::Tcp(DirectHint {
            hostname: relay.ip().to_string(),
            port: relay.port(),
            priority: 0.0,
        })),
        trust: Default::default(),
        listen: Listen::Only("127.0.0.1".parse().expect("ip")),
        force_relay: false,
        port_mapping: false,
        quic: ferry::transit::Quic::Off,
        timing: ferry::Timing::default(),
        early: Default::default(),
    }
}

/// How each side is set up.
#[derive(Clone, Copy, Default)]
pub struct Sides {
    pub sender_v1: bool,
    pub receiver_v1: bool,
    pub sender_plain: bool,
    pub receiver_plain: bool,
}

/// Runs a whole transfer in this process; returns both outcomes.
pub async fn transfer(
    h: &ServerHandle,
    payload: Payload,
    out: &Path,
    code: &str,
    sides: Sides,
) -> (ferry::Result<()>, ferry::Result<Received>) {
    transfer_over(h, transit(h), payload, (out, code), sides).await
}

/// [`transfer`] with these transit settings on both sides.
pub async fn transfer_over(
    h: &ServerHandle,
    transit: TransitConfig,
    payload: Payload,
    (out, code): (&Path, &str),
    sides: Sides,
) -> (ferry::Result<()>, ferry::Result<Received>) {
    let code = Code::parse(code).expect("code");
    let send = SendOptions {
        mailbox: mailbox(h, sides.sender_plain),
        transit: transit.clone(),
        code: CodeChoice::Given(code.clone()),
        v1: sides.sender_v1,
    };
    let recv = ReceiveOptions {
        mailbox: mailbox(h, sides.receiver_plain),
        transit,
        code,
        output_dir: out.to_owned(),
        v1: sides.receiver_v1,
        sessions: None,
    };
    let sending = async {
        let mut ui = TestUi::default();
        ferry::send(&send, payload, &mut ui).await
    };
    let receiving = async {
        let mut ui = TestUi::default();
        ferry::receive(&recv, &mut ui).await
    };
    tokio::time::timeout(LIMIT, async { tokio::join!(sending, receiving) })
        .await
        .expect("transfer finishes in time")
}

/// The native report, or a panic saying what came instead.
pub fn native(received: ferry::Result<Received>) -> ferry::Report {
    match received {
        Ok(Received::Files(report)) => report,
        other => panic!("expected a native receive, got {other:?}"),
    }
}
