//! The receiver's side of ferry's native upgrade (`localsend::native`): the
//! same PIN gate and the same one session as a prepare-upload.

use std::net::IpAddr;

use super::{Receiver, Response, Slot, Status};

impl Receiver {
    /// An upgrade to the native protocol from `peer`: the PIN first (counting
    /// wrong ones as a prepare-upload does), then busy. `Ok` takes the session
    /// slot until [`Receiver::native_ended`].
    pub fn handle_native(&mut self, peer: IpAddr, pin: Option<&str>) -> Result<(), Response> {
        self.pins.check(self.config.pin.as_deref(), peer, pin)?;
        if self.is_busy() {
            return Err(Response::error(
                Status::Conflict,
                "Blocked by another session",
            ));
        }
        self.slot = Slot::Native;
        Ok(())
    }

    /// The native connection ended: the slot is free again.
    pub fn native_ended(&mut self) {
        if matches!(self.slot, Slot::Native) {
            self.slot = Slot::Idle;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::localsend::ReceiverConfig;

    const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn receiver(pin: Option<&str>) -> Receiver {
        Receiver::new(ReceiverConfig {
            pin: pin.map(str::to_owned),
            idle_timeout: super::super::DEFAULT_IDLE_TIMEOUT,
        })
    }

    #[test]
    fn the_pin_is_checked_and_wrong_ones_count_toward_the_lock_out() {
        let mut r = receiver(Some("1234"));
        assert_eq!(
            r.handle_native(PEER, None).unwrap_err().status,
            Status::Unauthorized
        );
        for _ in 0..super::super::MAX_PIN_ATTEMPTS {
            assert!(r.handle_native(PEER, Some("0000")).is_err());
        }
        let locked = r.handle_native(PEER, Some("1234")).unwrap_err();
        assert_eq!(locked.status, Status::TooManyRequests);
    }

    #[test]
    fn one_session_at_a_time_until_the_native_one_ends() {
        let mut r = receiver(None);
        r.handle_native(PEER, None).unwrap();
        assert!(r.is_busy());
        assert_eq!(
            r.handle_native(PEER, None).unwrap_err().status,
            Status::Conflict
        );
        r.native_ended();
        assert!(!r.is_busy());
    }
}
