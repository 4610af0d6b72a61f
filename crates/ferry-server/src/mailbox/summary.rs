//! Usage summaries written when a nameplate or mailbox goes away: when it started
//! (blurred), how long the first side waited for the second, how long it lived, and
//! how it ended. The result rules are the reference server's.

use crate::store::{Mailbox, Nameplate, UsageKind, UsageRecord};
use crate::time::blur;

fn times(mut t: Vec<f64>) -> (f64, Option<f64>) {
    t.sort_by(f64::total_cmp);
    let first = t.first().copied().unwrap_or(0.0);
    (first, t.get(1).map(|second| second - first))
}

/// lonely (one side), happy (two), pruney (expired), crowded (more than two).
pub(crate) fn nameplate(
    app: &str,
    np: &Nameplate,
    now: f64,
    pruned: bool,
    blur_by: Option<f64>,
) -> UsageRecord {
    let (first, waiting_time) = times(np.sides.iter().map(|s| s.added).collect());
    let n = np.sides.len();
    let result = match () {
        _ if n > 2 => "crowded",
        _ if pruned => "pruney",
        _ if n == 2 => "happy",
        _ => "lonely",
    };
    UsageRecord {
        kind: UsageKind::Nameplate,
        app_id: app.to_owned(),
        for_nameplate: true,
        started: blur(first, blur_by),
        waiting_time,
        total_time: now - first,
        total_bytes: 0,
        result,
    }
}

/// Like [`nameplate`], and the moods sides reported: scary beats errory beats lonely.
pub(crate) fn mailbox(
    app: &str,
    mb: &Mailbox,
    now: f64,
    pruned: bool,
    blur_by: Option<f64>,
) -> UsageRecord {
    let (first, waiting_time) = times(mb.sides.iter().map(|s| s.added).collect());
    let n = mb.sides.len();
    let has = |m: &str| mb.sides.iter().any(|s| s.mood.as_deref() == Some(m));
    let result = match () {
        _ if n > 2 => "crowded",
        _ if pruned => "pruney",
        _ if has("scary") => "scary",
        _ if has("errory") => "errory",
        _ if has("lonely") || n < 2 => "lonely",
        _ => "happy",
    };
    UsageRecord {
        kind: UsageKind::Mailbox,
        app_id: app.to_owned(),
        for_nameplate: mb.for_nameplate,
        started: blur(first, blur_by),
        waiting_time,
        total_time: now - first,
        total_bytes: 0,
        result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MailboxSide;

    fn side(added: f64, mood: Option<&str>) -> MailboxSide {
        MailboxSide {
            side: format!("s{added}"),
            opened: false,
            added,
            mood: mood.map(Into::into),
        }
    }

    #[test]
    fn mood_precedence() {
        let mb = |sides| Mailbox {
            for_nameplate: true,
            updated: 0.0,
            sides,
        };
        let r = |m: &Mailbox, pruned| mailbox("a", m, 10.0, pruned, None).result;
        assert_eq!(
            r(
                &mb(vec![side(1.0, Some("happy")), side(3.0, Some("happy"))]),
                false
            ),
            "happy"
        );
        assert_eq!(
            r(
                &mb(vec![side(1.0, Some("scary")), side(3.0, Some("errory"))]),
                false
            ),
            "scary"
        );
        assert_eq!(
            r(
                &mb(vec![side(1.0, Some("lonely")), side(3.0, Some("errory"))]),
                false
            ),
            "errory"
        );
        assert_eq!(r(&mb(vec![side(1.0, Some("happy"))]), false), "lonely");
        assert_eq!(r(&mb(vec![side(1.0, None)]), true), "pruney");
        assert_eq!(
            r(
                &mb(vec![side(1.0, None), side(2.0, None), side(3.0, None)]),
                true
            ),
            "crowded"
        );
        let rec = mailbox(
            "a",
            &mb(vec![side(1.0, None), side(3.5, None)]),
            10.0,
            false,
            Some(60.0),
        );
        assert_eq!(
            (rec.started, rec.waiting_time, rec.total_time),
            (0.0, Some(2.5), 9.0)
        );
    }
}
