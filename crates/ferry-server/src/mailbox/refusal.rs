//! Every `error` the mailbox server sends. The first group are the reference
//! server's exact strings (clients and tests match on them); the second group are
//! ferry's limits and failures the reference has no word for.

/// Why a client command was refused; `Display` is the wire string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Refusal {
    MissingType,
    MustBindFirst,
    AlreadyBound,
    BindRequiresAppid,
    BindRequiresSide,
    PingRequiresPing,
    Greedy,
    ClaimRequiresNameplate,
    OneClaim,
    Crowded,
    Reclaimed,
    OneRelease,
    ReleaseMismatch,
    ReleaseWithoutClaim,
    OneOpen,
    OpenRequiresMailbox,
    MustOpenFirst,
    MissingPhase,
    MissingBody,
    OneClose,
    CloseMismatch,
    CloseWithoutOpen,
    UnknownType,
    // ferry's own
    NotJsonObject,
    InvalidNameplate,
    FieldTooLong,
    TooLarge,
    MailboxFull,
    TooManyNameplates,
    NoNameplateFree,
    Internal,
}

impl Refusal {
    pub(crate) const ALL: [Refusal; 31] = [
        Refusal::MissingType,
        Refusal::MustBindFirst,
        Refusal::AlreadyBound,
        Refusal::BindRequiresAppid,
        Refusal::BindRequiresSide,
        Refusal::PingRequiresPing,
        Refusal::Greedy,
        Refusal::ClaimRequiresNameplate,
        Refusal::OneClaim,
        Refusal::Crowded,
        Refusal::Reclaimed,
        Refusal::OneRelease,
        Refusal::ReleaseMismatch,
        Refusal::ReleaseWithoutClaim,
        Refusal::OneOpen,
        Refusal::OpenRequiresMailbox,
        Refusal::MustOpenFirst,
        Refusal::MissingPhase,
        Refusal::MissingBody,
        Refusal::OneClose,
        Refusal::CloseMismatch,
        Refusal::CloseWithoutOpen,
        Refusal::UnknownType,
        Refusal::NotJsonObject,
        Refusal::InvalidNameplate,
        Refusal::FieldTooLong,
        Refusal::TooLarge,
        Refusal::MailboxFull,
        Refusal::TooManyNameplates,
        Refusal::NoNameplateFree,
        Refusal::Internal,
    ];

    /// The exact `error` text.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Refusal::MissingType => "missing 'type'",
            Refusal::MustBindFirst => "must bind first",
            Refusal::AlreadyBound => "already bound",
            Refusal::BindRequiresAppid => "bind requires 'appid'",
            Refusal::BindRequiresSide => "bind requires 'side'",
            Refusal::PingRequiresPing => "ping requires 'ping'",
            Refusal::Greedy => "you already allocated one, don't be greedy",
            Refusal::ClaimRequiresNameplate => "claim requires 'nameplate'",
            Refusal::OneClaim => "only one claim per connection",
            Refusal::Crowded => "crowded",
            Refusal::Reclaimed => "reclaimed",
            Refusal::OneRelease => "only one release per connection",
            Refusal::ReleaseMismatch => "release and claim must use same nameplate",
            Refusal::ReleaseWithoutClaim => "release without nameplate must follow claim",
            Refusal::OneOpen => "only one open per connection",
            Refusal::OpenRequiresMailbox => "open requires 'mailbox'",
            Refusal::MustOpenFirst => "must open mailbox before adding",
            Refusal::MissingPhase => "missing 'phase'",
            Refusal::MissingBody => "missing 'body'",
            Refusal::OneClose => "only one close per connection",
            Refusal::CloseMismatch => "open and close must use same mailbox",
            Refusal::CloseWithoutOpen => "close without mailbox must follow open",
            Refusal::UnknownType => "unknown type",
            Refusal::NotJsonObject => "message must be a JSON object",
            Refusal::InvalidNameplate => "invalid nameplate: up to 40 decimal digits",
            Refusal::FieldTooLong => "field too long",
            Refusal::TooLarge => "message too large",
            Refusal::MailboxFull => "mailbox is full",
            Refusal::TooManyNameplates => "too many nameplates claimed from your address",
            Refusal::NoNameplateFree => "no nameplate is free, try again later",
            Refusal::Internal => "internal server error",
        }
    }

    /// Short label for `/metrics`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Refusal::MissingType => "missing_type",
            Refusal::MustBindFirst => "must_bind_first",
            Refusal::AlreadyBound => "already_bound",
            Refusal::BindRequiresAppid | Refusal::BindRequiresSide => "bad_bind",
            Refusal::PingRequiresPing => "bad_ping",
            Refusal::Greedy => "greedy",
            Refusal::ClaimRequiresNameplate => "bad_claim",
            Refusal::OneClaim | Refusal::OneRelease | Refusal::OneOpen | Refusal::OneClose => {
                "once_per_connection"
            }
            Refusal::Crowded => "crowded",
            Refusal::Reclaimed => "reclaimed",
            Refusal::ReleaseMismatch | Refusal::ReleaseWithoutClaim => "bad_release",
            Refusal::OpenRequiresMailbox => "bad_open",
            Refusal::MustOpenFirst | Refusal::MissingPhase | Refusal::MissingBody => "bad_add",
            Refusal::CloseMismatch | Refusal::CloseWithoutOpen => "bad_close",
            Refusal::UnknownType => "unknown_type",
            Refusal::NotJsonObject => "not_json",
            Refusal::InvalidNameplate => "invalid_nameplate",
            Refusal::FieldTooLong => "field_too_long",
            Refusal::TooLarge => "too_large",
            Refusal::MailboxFull => "mailbox_full",
            Refusal::TooManyNameplates => "nameplates_per_ip",
            Refusal::NoNameplateFree => "no_nameplate_free",
            Refusal::Internal => "internal",
        }
    }

    /// Index into per-kind counters.
    pub(crate) fn index(self) -> usize {
        Refusal::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_are_distinct() {
        for (i, r) in Refusal::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
    }
}
