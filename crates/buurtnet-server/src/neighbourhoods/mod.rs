//! Neighbourhood conversations (Mijnbuur): membership by verified home address ([`membership`]),
//! conversations, replies, invitations of officials and closing ([`conversations`]), the
//! resident API with a device's token ([`api`]) and the staff API ([`staff_api`]); alarm
//! neighbours and the emergency button ([`alarm`], [`alarm_api`]). The rules are
//! the domain's (`buurtnet_domain::neighbourhood`, `policy.rs`); who reads what is decided in the
//! store's SQL (`buurtnet_store::conversations`).

pub mod alarm;
pub mod alarm_api;
pub mod alarm_views;
pub mod api;
pub mod conversations;
pub mod membership;
pub mod requests;
pub mod staff_api;
pub mod views;
