//! The driver for real devices: NETCONF for platform `netconf`, the SSH CLI driver for every other platform.

use async_trait::async_trait;

use crate::cli::{CliDriver, CliOptions};
use crate::netconf::{NetconfDriver, NetconfOptions};
use crate::{Driver, DriverError, Session, Target};

/// The platform name that selects the NETCONF driver.
pub const NETCONF_PLATFORM: &str = "netconf";

/// Routes each device to its driver by platform: `netconf` to
/// [`NetconfDriver`], `frr`, `eos`, `ios`, `junos` to [`CliDriver`].
#[derive(Debug, Clone)]
pub struct DeviceDriver {
    cli: CliDriver,
    netconf: NetconfDriver,
}

impl Default for DeviceDriver {
    fn default() -> Self {
        Self::new(CliOptions::default(), NetconfOptions::default())
    }
}

impl DeviceDriver {
    /// Both drivers with these options.
    #[must_use]
    pub fn new(cli: CliOptions, netconf: NetconfOptions) -> Self {
        Self {
            cli: CliDriver::new(cli),
            netconf: NetconfDriver::new(netconf),
        }
    }
}

#[async_trait]
impl Driver for DeviceDriver {
    async fn open(&self, target: &Target) -> Result<Box<dyn Session>, DriverError> {
        if target.platform == NETCONF_PLATFORM {
            self.netconf.open(target).await
        } else {
            self.cli.open(target).await
        }
    }
}
