//! Delivery channels and message topics, and compact sets of them (stored as bit masks).

use serde::{Deserialize, Serialize};

/// Whether a phone number takes text messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneKind {
    Mobile,
    FixedLine,
}

impl PhoneKind {
    pub fn of(mobile: bool) -> PhoneKind {
        if mobile { PhoneKind::Mobile } else { PhoneKind::FixedLine }
    }
}

/// The contact point a chosen channel lacks ([`Channel::missing_contact`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingContact {
    Email,
    Phone,
    MobilePhone,
    MobileNotFixedLine,
}

impl MissingContact {
    /// A stable error code.
    pub fn code(self) -> &'static str {
        match self {
            MissingContact::Email => "email_channel_without_email",
            MissingContact::Phone => "voice_channel_without_phone",
            MissingContact::MobilePhone => "sms_channel_without_phone",
            MissingContact::MobileNotFixedLine => "sms_needs_mobile",
        }
    }

    /// What a person reads.
    pub fn message(self) -> &'static str {
        match self {
            MissingContact::Email => "The e-mail channel needs an e-mail address.",
            MissingContact::Phone => "The voice channel needs a phone number.",
            MissingContact::MobilePhone => "The SMS channel needs a mobile phone number.",
            MissingContact::MobileNotFixedLine => "SMS needs a mobile number; this number is a fixed line.",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Push,
    Sms,
    Voice,
    Email,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Push, Channel::Sms, Channel::Voice, Channel::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Push => "push",
            Channel::Sms => "sms",
            Channel::Voice => "voice",
            Channel::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        match s.trim().to_ascii_lowercase().as_str() {
            "push" | "app" => Some(Channel::Push),
            "sms" => Some(Channel::Sms),
            "voice" | "spraak" | "call" => Some(Channel::Voice),
            "email" | "e-mail" | "mail" => Some(Channel::Email),
            _ => None,
        }
    }

    /// Why a person with these contact points cannot be reached on this channel (`None`: they
    /// can): the one rule that ties channels to contact points. `phone`: whether a phone number
    /// is known, and whether it is a mobile one. Push needs a device, not a contact point.
    pub fn missing_contact(self, has_email: bool, phone: Option<PhoneKind>) -> Option<MissingContact> {
        match (self, phone) {
            (Channel::Email, _) if !has_email => Some(MissingContact::Email),
            (Channel::Voice, None) => Some(MissingContact::Phone),
            (Channel::Sms, None) => Some(MissingContact::MobilePhone),
            (Channel::Sms, Some(PhoneKind::FixedLine)) => Some(MissingContact::MobileNotFixedLine),
            _ => None,
        }
    }

    fn bit(self) -> u8 {
        match self {
            Channel::Push => 1,
            Channel::Sms => 2,
            Channel::Voice => 4,
            Channel::Email => 8,
        }
    }
}

/// A set of channels as a bit mask (push = 1, sms = 2, voice = 4, email = 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChannelSet(u8);

impl ChannelSet {
    pub const EMPTY: ChannelSet = ChannelSet(0);

    pub fn from_bits(bits: i64) -> ChannelSet {
        ChannelSet((bits & 0x0f) as u8)
    }

    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    pub fn insert(&mut self, c: Channel) {
        self.0 |= c.bit();
    }

    pub fn remove(&mut self, c: Channel) {
        self.0 &= !c.bit();
    }

    pub fn contains(self, c: Channel) -> bool {
        self.0 & c.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Channel> {
        Channel::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Channel::as_str).collect()
    }
}

impl FromIterator<Channel> for ChannelSet {
    fn from_iter<I: IntoIterator<Item = Channel>>(iter: I) -> Self {
        let mut s = ChannelSet::EMPTY;
        for c in iter {
            s.insert(c);
        }
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Topic {
    /// Urgent actions (Burgernetacties, AMBER alerts).
    Urgent,
    /// Neighbourhood enquiries (digitaal buurtonderzoek).
    Enquiry,
    /// Information from the municipality.
    Information,
}

impl Topic {
    pub const ALL: [Topic; 3] = [Topic::Urgent, Topic::Enquiry, Topic::Information];

    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Urgent => "urgent",
            Topic::Enquiry => "enquiry",
            Topic::Information => "information",
        }
    }

    pub fn parse(s: &str) -> Option<Topic> {
        match s.trim().to_ascii_lowercase().as_str() {
            "urgent" | "acties" | "actions" => Some(Topic::Urgent),
            "enquiry" | "buurtonderzoek" => Some(Topic::Enquiry),
            "information" | "info" | "informatie" => Some(Topic::Information),
            _ => None,
        }
    }

    fn bit(self) -> u8 {
        match self {
            Topic::Urgent => 1,
            Topic::Enquiry => 2,
            Topic::Information => 4,
        }
    }
}

/// A set of topics as a bit mask (urgent = 1, enquiry = 2, information = 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TopicSet(u8);

impl TopicSet {
    pub fn from_bits(bits: i64) -> TopicSet {
        TopicSet((bits & 0x07) as u8)
    }

    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    pub fn insert(&mut self, t: Topic) {
        self.0 |= t.bit();
    }

    pub fn contains(self, t: Topic) -> bool {
        self.0 & t.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Topic> {
        Topic::ALL.into_iter().filter(move |t| self.contains(*t))
    }

    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Topic::as_str).collect()
    }
}

impl FromIterator<Topic> for TopicSet {
    fn from_iter<I: IntoIterator<Item = Topic>>(iter: I) -> Self {
        let mut s = TopicSet::default();
        for t in iter {
            s.insert(t);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_set_round_trips_through_bits() {
        let s: ChannelSet = [Channel::Sms, Channel::Email].into_iter().collect();
        assert_eq!(ChannelSet::from_bits(s.bits()), s);
        assert_eq!(s.names(), vec!["sms", "email"]);
        assert!(!s.contains(Channel::Voice));
    }

    #[test]
    fn topics_parse_dutch_and_english() {
        assert_eq!(Topic::parse("Informatie"), Some(Topic::Information));
        assert_eq!(Topic::parse("urgent"), Some(Topic::Urgent));
        assert_eq!(Topic::parse("x"), None);
    }
}
