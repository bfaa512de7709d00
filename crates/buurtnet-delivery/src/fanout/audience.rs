//! The fan-out's one window on targeting: who a message sent to an area reaches. The server
//! implements it with its area index and live replica (`buurtnet-targeting`) in its wiring
//! module; this crate never sees them.

use buurtnet_domain::Channel;
use buurtnet_store::actions::MessageRow;
use chrono::NaiveTime;
use futures::future::BoxFuture;
use futures::stream::BoxStream;

/// People as they come: (participant, channel), each once per channel.
pub type People<'a> = BoxStream<'a, anyhow::Result<(i64, Channel)>>;

/// Who messages reach.
pub trait Audience: Send + Sync {
    /// The audience of a message sent to its area (its area, topic, sender's scope and quiet
    /// hours rule read from the row); `None` when its area no longer parses (areas re-imported
    /// without a code: nobody to reach).
    fn of_message<'a>(&'a self, msg: &'a MessageRow) -> BoxFuture<'a, anyhow::Result<Option<Box<dyn AreaAudience + 'a>>>>;
}

/// The people and anonymous devices of one message's area.
pub trait AreaAudience: Send + Sync {
    /// Everyone in the area (and in the sender's scope) who wants the topic and can be reached
    /// now, each once per channel: (participant, channel). Read once.
    fn people(&self) -> BoxFuture<'_, anyhow::Result<People<'_>>>;

    /// The local times at which the quiet hours that kept people out of [`AreaAudience::people`]
    /// end (read after it).
    fn quiet_ends(&self) -> Vec<NaiveTime>;

    /// The anonymous devices with a fixed place in the area (in order of id when
    /// [`AreaAudience::everywhere_only`]).
    fn devices(&self) -> BoxStream<'_, anyhow::Result<i64>>;

    /// The devices with a further fixed place in the area, and "where I am" devices whose coarse
    /// cell overlaps it at `now` (may repeat devices of [`AreaAudience::devices`]).
    fn more_devices(&self, now: i64) -> BoxFuture<'_, anyhow::Result<Vec<i64>>>;

    /// Whether the area is the whole country and nothing else (its devices come in order of id
    /// and are written as they come).
    fn everywhere_only(&self) -> bool;
}
