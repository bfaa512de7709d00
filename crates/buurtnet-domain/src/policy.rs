//! Who may do what: every staff operation and the roles that may perform it, in one table.
//! Handlers, pages, services and CLI commands ask [`Operation::allows`]; no other place lists
//! roles. Where an operation is allowed also depends on scope: [`crate::staff::Scope::covers`]
//! decides that, on the place the data lies in.

use crate::neighbourhood::Official;
use crate::staff::Role;

/// Something a staff member does. Each API route and console page names the operation it
/// needs; the service behind it asks again (with the scope of the data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Read one's own account (`/staff/me`, the console overview).
    ReadOwnAccount,
    /// Count the people an area reaches before sending.
    CountReach,
    /// Search an address, postcode, street, place or area to draw around (the map's search).
    SearchPlaces,
    /// Follow the staff live feed of actions (and, for [`Operation::ReadTips`], their tips).
    FollowLiveActions,
    /// Read participant counts per area.
    ReadParticipantStats,
    /// Read the coverage page (participants per neighbourhood against inhabitants).
    ReadCoverage,
    /// Create, send, update, close and cancel urgent actions; add their photos.
    ManageActions,
    /// Approve, as the second person, an action that needs two (`approval.second_person`); the
    /// action's scope decides whose it is, and never its creator.
    ApproveAction,
    /// Release, as the second officer, an information message held for approval.
    ApproveInformation,
    /// Read the tips residents send back to an action.
    ReadTips,
    /// Send information messages.
    SendInformation,
    /// Read dead letters and retry failed deliveries.
    ManageDeliveries,
    /// Read the history of area imports.
    ReadAreaImports,
    /// Read the jobs table (periodic and deferred work), failed jobs included.
    ReadJobs,
    /// Manage staff accounts and read the audit log.
    ManageStaff,
    /// Read the sandbox providers' messages and the metrics without being on this machine.
    OperateSystem,
    /// Write a neighbourhood-enquiry request and add its photo.
    RequestEnquiry,
    /// Approve (send) or return a neighbourhood-enquiry request.
    ApproveEnquiry,
    /// Read neighbourhood enquiries and the monthly table.
    ReadEnquiries,
    /// Close a neighbourhood enquiry.
    CloseEnquiry,
    /// Read the replies to an enquiry.
    ReadReplies,
    /// Classify, forward and answer replies.
    HandleReplies,
    /// See the photos of replies and tips (the service narrows it to the photo's kind).
    ReadReplyPhotos,
    /// See exact reach counts, however small; everyone else sees small counts as "< 5".
    SeeExactCounts,
    /// Read the reports (actions, enquiries, coverage, cost share) of one's scope.
    ReadReports,
    /// Make recruitment campaigns (a sign-up link and QR code for posters) for one's municipality.
    ManageCampaigns,
    /// See the neighbourhood conversations one was added to (and the counts per category in
    /// one's scope); never the contents of another.
    ReadConversations,
    /// Take part in neighbourhood conversations: open one for a street or neighbourhood of one's
    /// scope, read and answer those one was invited into or opened. Only an official (see
    /// [`official_of`]) is ever added to a conversation: the others pass the route and see none.
    TakePartInConversations,
}

use Role::*;

impl Operation {
    pub const ALL: [Operation; 28] = [
        Operation::ReadOwnAccount,
        Operation::CountReach,
        Operation::SearchPlaces,
        Operation::FollowLiveActions,
        Operation::ReadParticipantStats,
        Operation::ReadCoverage,
        Operation::ManageActions,
        Operation::ApproveAction,
        Operation::ApproveInformation,
        Operation::ReadTips,
        Operation::SendInformation,
        Operation::ManageDeliveries,
        Operation::ReadAreaImports,
        Operation::ReadJobs,
        Operation::ManageStaff,
        Operation::OperateSystem,
        Operation::RequestEnquiry,
        Operation::ApproveEnquiry,
        Operation::ReadEnquiries,
        Operation::CloseEnquiry,
        Operation::ReadReplies,
        Operation::HandleReplies,
        Operation::ReadReplyPhotos,
        Operation::SeeExactCounts,
        Operation::ReadReports,
        Operation::ManageCampaigns,
        Operation::ReadConversations,
        Operation::TakePartInConversations,
    ];

    /// The roles that may perform this operation: the one table of the project.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Operation::ReadOwnAccount => &Role::ALL,
            Operation::CountReach => &[Dispatcher, MunicipalityOfficer, Admin],
            Operation::SearchPlaces => &[Dispatcher, MunicipalityOfficer, Requester, Approver, Admin],
            Operation::FollowLiveActions => &[Dispatcher, Admin, MunicipalityOfficer, RegionalCoordinator],
            Operation::ReadParticipantStats => &[MunicipalityOfficer, RegionalCoordinator, Admin, Dispatcher],
            Operation::ReadCoverage => &[MunicipalityOfficer, RegionalCoordinator, Admin],
            Operation::ManageActions => &[Dispatcher, Admin],
            Operation::ApproveAction => &[Dispatcher, Admin],
            Operation::ApproveInformation => &[MunicipalityOfficer, Admin],
            Operation::ReadTips => &[Dispatcher, Admin],
            Operation::SendInformation => &[MunicipalityOfficer, Admin],
            Operation::ManageDeliveries => &[Admin],
            Operation::ReadAreaImports => &[Admin],
            Operation::ReadJobs => &[Admin],
            Operation::ManageStaff => &[Admin],
            Operation::OperateSystem => &[Admin],
            Operation::RequestEnquiry => &[Requester, Approver, Admin],
            Operation::ApproveEnquiry => &[Approver, Admin],
            Operation::ReadEnquiries => &[Requester, Approver, Handler, Admin],
            Operation::CloseEnquiry => &[Approver, Handler, Admin],
            Operation::ReadReplies => &[Handler, Approver, Admin],
            Operation::HandleReplies => &[Handler, Admin],
            Operation::ReadReplyPhotos => &[Dispatcher, Handler, Approver, Admin],
            Operation::SeeExactCounts => &[Dispatcher, Admin],
            Operation::ReadReports => &[MunicipalityOfficer, RegionalCoordinator, Dispatcher, Admin],
            Operation::ManageCampaigns => &[MunicipalityOfficer, Admin],
            Operation::ReadConversations => &[NeighbourhoodOfficer, MunicipalityOfficer, RegionalCoordinator, Admin],
            Operation::TakePartInConversations => &[NeighbourhoodOfficer, MunicipalityOfficer, Admin],
        }
    }

    pub fn allows(self, role: Role) -> bool {
        self.roles().contains(&role)
    }

    /// Operations over every municipality's data at once, for national staff only.
    pub fn needs_national_scope(self) -> bool {
        matches!(self, Operation::ManageDeliveries | Operation::ReadAreaImports | Operation::ReadJobs)
    }

    /// A stable name (for the OpenAPI document and error messages).
    pub fn name(self) -> &'static str {
        match self {
            Operation::ReadOwnAccount => "read-own-account",
            Operation::CountReach => "count-reach",
            Operation::SearchPlaces => "search-places",
            Operation::FollowLiveActions => "follow-live-actions",
            Operation::ReadParticipantStats => "read-participant-stats",
            Operation::ReadCoverage => "read-coverage",
            Operation::ManageActions => "manage-actions",
            Operation::ApproveAction => "approve-action",
            Operation::ApproveInformation => "approve-information",
            Operation::ReadTips => "read-tips",
            Operation::SendInformation => "send-information",
            Operation::ManageDeliveries => "manage-deliveries",
            Operation::ReadAreaImports => "read-area-imports",
            Operation::ReadJobs => "read-jobs",
            Operation::ManageStaff => "manage-staff",
            Operation::OperateSystem => "operate-system",
            Operation::RequestEnquiry => "request-enquiry",
            Operation::ApproveEnquiry => "approve-enquiry",
            Operation::ReadEnquiries => "read-enquiries",
            Operation::CloseEnquiry => "close-enquiry",
            Operation::ReadReplies => "read-replies",
            Operation::HandleReplies => "handle-replies",
            Operation::ReadReplyPhotos => "read-reply-photos",
            Operation::SeeExactCounts => "see-exact-counts",
            Operation::ReadReports => "read-reports",
            Operation::ManageCampaigns => "manage-campaigns",
            Operation::ReadConversations => "read-conversations",
            Operation::TakePartInConversations => "take-part-in-conversations",
        }
    }
}

/// The kind of official a staff role takes part in neighbourhood conversations as: the
/// neighbourhood officer or the municipality's contact. Everyone else (an administrator, a
/// regional coordinator) is never added to a conversation and sees counts only.
pub fn official_of(role: Role) -> Option<Official> {
    match role {
        NeighbourhoodOfficer => Some(Official::NeighbourhoodOfficer),
        MunicipalityOfficer => Some(Official::Municipality),
        _ => None,
    }
}

impl Official {
    /// The staff role of this kind of official.
    pub fn role(self) -> Role {
        match self {
            Official::NeighbourhoodOfficer => NeighbourhoodOfficer,
            Official::Municipality => MunicipalityOfficer,
        }
    }
}

impl Role {
    /// Whether this role must pass a second factor (TOTP) at every sign-in: the roles that send
    /// to residents or manage accounts.
    pub fn requires_second_factor(self) -> bool {
        matches!(self, Dispatcher | Approver | Admin)
    }

    /// The role's name as people read it.
    pub fn label(self, lang: crate::Language) -> &'static str {
        let (nl, en) = match self {
            Dispatcher => ("Centralist", "Dispatcher"),
            Requester => ("Aanvrager", "Requester"),
            Approver => ("Verzender", "Approver"),
            Handler => ("Afhandelaar", "Handler"),
            NeighbourhoodOfficer => ("Wijkagent", "Neighbourhood officer"),
            MunicipalityOfficer => ("Gemeente", "Municipality officer"),
            RegionalCoordinator => ("Regiocoördinator", "Regional coordinator"),
            Admin => ("Beheerder", "Administrator"),
        };
        match lang {
            crate::Language::Nl => nl,
            crate::Language::En => en,
        }
    }
}

/// Below this many, a count is shown as "< 5" to roles without [`Operation::SeeExactCounts`]:
/// a tiny circle must not single out a household.
pub const SMALL_COUNT: u64 = 5;

/// A count as a role may see it: exact, or "fewer than 5".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShownCount {
    Exact(u64),
    FewerThan(u64),
}

impl ShownCount {
    /// The count `n` as `role` may see it.
    pub fn of(n: u64, role: Role) -> ShownCount {
        ShownCount::masked(n, Operation::SeeExactCounts.allows(role))
    }

    /// The one small-count rule: `n` exactly where `exact` is allowed or `n` is not small.
    pub fn masked(n: u64, exact: bool) -> ShownCount {
        if n < SMALL_COUNT && !exact { ShownCount::FewerThan(SMALL_COUNT) } else { ShownCount::Exact(n) }
    }

    /// The count itself where it is exact.
    pub fn exact(self) -> Option<u64> {
        match self {
            ShownCount::Exact(n) => Some(n),
            ShownCount::FewerThan(_) => None,
        }
    }

    /// As JSON: a number, or the string "< 5".
    pub fn to_json(self) -> serde_json::Value {
        match self {
            ShownCount::Exact(n) => serde_json::Value::from(n),
            ShownCount::FewerThan(k) => serde_json::Value::from(format!("< {k}")),
        }
    }
}

/// A number, or the string "< 5" (JSON and CSV alike).
impl serde::Serialize for ShownCount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ShownCount::Exact(n) => s.serialize_u64(*n),
            ShownCount::FewerThan(k) => s.serialize_str(&format!("< {k}")),
        }
    }
}

impl std::fmt::Display for ShownCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShownCount::Exact(n) => write!(f, "{n}"),
            ShownCount::FewerThan(k) => write!(f, "< {k}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_listed_once_and_has_a_role() {
        let mut names: Vec<&str> = Operation::ALL.iter().map(|o| o.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Operation::ALL.len());
        for op in Operation::ALL {
            assert!(!op.roles().is_empty(), "{op:?}");
            assert!(op.allows(Admin) || op == Operation::ReadOwnAccount, "admins may do {op:?}");
        }
    }

    #[test]
    fn four_eyes_roles() {
        assert!(Operation::RequestEnquiry.allows(Requester));
        assert!(!Operation::ApproveEnquiry.allows(Requester));
        assert!(!Operation::ReadEnquiries.allows(Dispatcher));
        assert!(!Operation::ManageActions.allows(MunicipalityOfficer));
        assert!(Operation::SendInformation.allows(MunicipalityOfficer));
    }

    #[test]
    fn only_officers_and_the_municipality_take_part_in_conversations() {
        for role in Role::ALL {
            let official = official_of(role);
            assert_eq!(official.is_some(), matches!(role, NeighbourhoodOfficer | MunicipalityOfficer), "{role:?}");
            if let Some(o) = official {
                assert_eq!(o.role(), role);
                assert!(Operation::TakePartInConversations.allows(role) && Operation::ReadConversations.allows(role));
            }
        }
        assert!(Operation::ReadConversations.allows(RegionalCoordinator));
        assert!(!Operation::TakePartInConversations.allows(RegionalCoordinator));
        assert!(!Operation::TakePartInConversations.allows(Dispatcher));
    }

    #[test]
    fn small_counts_are_hidden_from_all_but_dispatchers_and_admins() {
        for role in Role::ALL {
            let exact = matches!(role, Dispatcher | Admin);
            assert_eq!(ShownCount::of(1, role) == ShownCount::Exact(1), exact, "{role:?}");
            assert_eq!(ShownCount::of(4, role) == ShownCount::Exact(4), exact, "{role:?}");
            assert_eq!(ShownCount::of(0, role) == ShownCount::Exact(0), exact, "{role:?}");
            assert_eq!(ShownCount::of(5, role), ShownCount::Exact(5));
        }
        assert_eq!(ShownCount::of(3, MunicipalityOfficer).to_json(), serde_json::json!("< 5"));
        assert_eq!(ShownCount::of(3, Dispatcher).to_json(), serde_json::json!(3));
    }
}
