//! The fixed label taxonomy: per-message stages, conversation labels and scam types.

use serde::{Deserialize, Serialize};

/// The stage of the scam script a conversation is in as of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Ordinary conversation, no scam signal.
    None,
    /// The hook from a stranger.
    Contact,
    /// Grooming: flattery, love-bombing, mirrored life story, future-faking.
    Rapport,
    /// Moving off-platform, secrecy, avoiding video calls.
    Isolation,
    /// Introducing an investment or earning opportunity.
    Pitch,
    /// Demands or pressure for money.
    Extraction,
    /// Trafficking-style job lure (its own track).
    Recruitment,
}

impl Stage {
    /// Every stage, in index order.
    pub const ALL: [Stage; 7] = [
        Stage::None,
        Stage::Contact,
        Stage::Rapport,
        Stage::Isolation,
        Stage::Pitch,
        Stage::Extraction,
        Stage::Recruitment,
    ];

    /// The label string.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::None => "none",
            Stage::Contact => "contact",
            Stage::Rapport => "rapport",
            Stage::Isolation => "isolation",
            Stage::Pitch => "pitch",
            Stage::Extraction => "extraction",
            Stage::Recruitment => "recruitment",
        }
    }

    /// The label strings of [`Stage::ALL`], in order.
    pub fn names() -> Vec<&'static str> {
        Stage::ALL.iter().map(|s| s.as_str()).collect()
    }

    /// Position in [`Stage::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the stage is a scam signal.
    pub fn is_scam(self) -> bool {
        self != Stage::None
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Conversation-level verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// A scam conversation.
    Scam,
    /// An ordinary conversation.
    Benign,
}

/// Kind of scam a conversation runs. What a trust-and-safety team calls a scam: any chat
/// whose aim is to get money, credentials or a person under false pretences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScamType {
    /// Not a scam.
    None,
    /// Romance leading to an investment platform ("pig butchering").
    RomanceInvestment,
    /// Romance leading to direct requests for money.
    RomanceMoney,
    /// Job lure recruiting people into scam compounds.
    JobRecruitment,
    /// Pretending to be someone the target trusts: family on a new number, a boss, a bank,
    /// police, a courier or a platform's support, to get a transfer or data.
    Impersonation,
    /// A fee to release a larger sum: inheritance, lottery or prize, loan, customs parcel.
    AdvanceFee,
    /// Paid "tasks" (liking videos, rating products, order boosting) that turn into deposits.
    TaskScam,
    /// Links, codes or credentials: fake delivery, account locked, wallet drainers, OTP theft.
    Phishing,
    /// Investment fraud without the romance: fake platforms, signal groups, giveaways,
    /// "guaranteed" returns, fake recovery services.
    Investment,
}

impl ScamType {
    /// Every scam type, in index order (`None` first).
    pub const ALL: [ScamType; 9] = [
        ScamType::None,
        ScamType::RomanceInvestment,
        ScamType::RomanceMoney,
        ScamType::JobRecruitment,
        ScamType::Impersonation,
        ScamType::AdvanceFee,
        ScamType::TaskScam,
        ScamType::Phishing,
        ScamType::Investment,
    ];

    /// The label string.
    pub fn as_str(self) -> &'static str {
        match self {
            ScamType::None => "none",
            ScamType::RomanceInvestment => "romance_investment",
            ScamType::RomanceMoney => "romance_money",
            ScamType::JobRecruitment => "job_recruitment",
            ScamType::Impersonation => "impersonation",
            ScamType::AdvanceFee => "advance_fee",
            ScamType::TaskScam => "task_scam",
            ScamType::Phishing => "phishing",
            ScamType::Investment => "investment",
        }
    }
}

impl std::fmt::Display for ScamType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
