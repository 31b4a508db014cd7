//! Who is told about what: each member's notify level and mute for a conversation, and a user's
//! "do not disturb". Stored on the server, so every device of a user behaves the same.
//!
//! Wire types and the one decision every client makes from them ([`should_notify`]); no I/O.

use serde::{Deserialize, Serialize};

use super::ConvKind;

/// When a conversation's new messages notify a member.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyLevel {
    /// Every message from someone else.
    All,
    /// Messages that mention the member. In a direct conversation every message is addressed
    /// to the member, so each one counts: this is the default for both kinds.
    #[default]
    Mentions,
    /// Never.
    None,
}

impl NotifyLevel {
    /// The level as stored and sent: `all`, `mentions` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Mentions => "mentions",
            Self::None => "none",
        }
    }

    /// The level named `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "all" => Some(Self::All),
            "mentions" => Some(Self::Mentions),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

/// A member's notification settings for one conversation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifySettings {
    /// When its messages notify.
    pub level: NotifyLevel,
    /// Muted: never notifies, and its unread messages are not counted in the window title
    /// (mentions still are).
    pub muted: bool,
}

/// Whether a new message from someone else should notify its reader: `kind` of conversation,
/// the reader's `settings` for it, whether the reader is in "do not disturb", and whether the
/// message mentions the reader.
pub fn should_notify(
    kind: ConvKind,
    settings: NotifySettings,
    do_not_disturb: bool,
    mentions_reader: bool,
) -> bool {
    if do_not_disturb || settings.muted {
        return false;
    }
    match settings.level {
        NotifyLevel::All => true,
        NotifyLevel::Mentions => kind == ConvKind::Direct || mentions_reader,
        NotifyLevel::None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(level: NotifyLevel, muted: bool) -> NotifySettings {
        NotifySettings { level, muted }
    }

    #[test]
    fn the_default_notifies_for_direct_messages_and_mentions_only() {
        let default = NotifySettings::default();
        assert!(should_notify(ConvKind::Direct, default, false, false));
        assert!(should_notify(ConvKind::Room, default, false, true));
        assert!(!should_notify(ConvKind::Room, default, false, false));
    }

    #[test]
    fn all_none_mute_and_do_not_disturb() {
        let all = settings(NotifyLevel::All, false);
        assert!(should_notify(ConvKind::Room, all, false, false));
        assert!(
            !should_notify(ConvKind::Room, all, true, true),
            "do not disturb wins"
        );
        let none = settings(NotifyLevel::None, false);
        assert!(!should_notify(ConvKind::Direct, none, false, true));
        let muted = settings(NotifyLevel::All, true);
        assert!(!should_notify(ConvKind::Room, muted, false, true));
    }

    #[test]
    fn levels_round_trip_through_their_names() {
        for level in [NotifyLevel::All, NotifyLevel::Mentions, NotifyLevel::None] {
            assert_eq!(NotifyLevel::parse(level.as_str()), Some(level));
            let json = serde_json::to_string(&level).expect("plain enum");
            assert_eq!(json, format!("\"{}\"", level.as_str()));
        }
        assert_eq!(NotifyLevel::parse("loud"), None);
    }
}
