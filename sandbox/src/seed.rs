//! The default state: a small firm with its main library and a branch office's library, a service
//! account, a few people and groups, the registered matterlink application, and templates whose
//! ids configurations can name (two in the main library, one in the branch's).

use std::collections::{BTreeMap, HashMap};

use crate::config::{
    BRANCH_LIBRARY, CLIENT_ID, CLIENT_SECRET, CUSTOMER_ID, LIBRARY, SERVICE_PASSWORD, SERVICE_USER,
};
use crate::events::{EventQueue, DEFAULT_EVENT_RETENTION};
use crate::model::{
    AccessLevel, DefaultSecurity, Folder, Group, MemberType, SecurityMember, User, ViewType,
    Workspace,
};
use crate::store::Inner;
use crate::tokens::OAuthClient;

/// Numbers below this are the seed's; new objects count up from here.
pub const FIRST_NEW_NUMBER: u64 = 1000;

/// Ids of the seeded templates.
pub const LITIGATION_TEMPLATE: &str = "ACTIVE!100";
pub const PROPERTY_TEMPLATE: &str = "ACTIVE!200";
/// The branch library's template (folders `BRANCH!301..304`). Numbered apart from the main
/// library's seed because object numbers are one sequence across libraries.
pub const BRANCH_TEMPLATE: &str = "BRANCH!300";

/// A fixed creation date, so that the seed looks the same in every run.
const SEED_DATE: &str = "2024-01-01T00:00:00Z";

fn user(id: &str, full_name: &str, user_type: &str, password: Option<&str>) -> User {
    User {
        id: id.to_owned(),
        full_name: full_name.to_owned(),
        email: format!("{}@sandbox.example", id.to_ascii_lowercase()),
        user_type: user_type.to_owned(),
        password: password.map(str::to_owned),
    }
}

fn group(id: &str, full_name: &str, members: &[&str]) -> Group {
    Group {
        id: id.to_owned(),
        full_name: full_name.to_owned(),
        members: members.iter().map(|m| (*m).to_owned()).collect(),
    }
}

fn member(id: &str, member_type: MemberType, access_level: AccessLevel) -> SecurityMember {
    SecurityMember {
        id: id.to_owned(),
        member_type,
        access_level,
    }
}

fn template(
    library: &str,
    number: u64,
    name: &str,
    description: &str,
    default_security: DefaultSecurity,
    members: Vec<SecurityMember>,
) -> Workspace {
    Workspace {
        id: format!("{library}!{number}"),
        name: name.to_owned(),
        description: description.to_owned(),
        owner: SERVICE_USER.to_owned(),
        default_security,
        custom: BTreeMap::new(),
        subclass: None,
        create_date: SEED_DATE.to_owned(),
        edit_date: SEED_DATE.to_owned(),
        is_template: true,
        members,
    }
}

/// A template's folders as (number, name, parent number or None for root, optional).
fn template_folders(
    library: &str,
    workspace: u64,
    folders: &[(u64, &str, Option<u64>, bool)],
) -> Vec<(u64, Folder)> {
    folders
        .iter()
        .map(|&(number, name, parent, optional)| {
            let folder = Folder {
                id: format!("{library}!{number}"),
                name: name.to_owned(),
                description: String::new(),
                parent_id: format!("{library}!{}", parent.unwrap_or(workspace)),
                workspace_id: format!("{library}!{workspace}"),
                default_security: DefaultSecurity::Inherit,
                view_type: ViewType::Document,
                profile: None,
                optional,
                create_date: SEED_DATE.to_owned(),
                edit_date: SEED_DATE.to_owned(),
                members: Vec::new(),
            };
            (number, folder)
        })
        .collect()
}

pub(crate) fn seed() -> Inner {
    let users = vec![
        user(
            SERVICE_USER,
            "Sandbox Service Account",
            "admin",
            Some(SERVICE_PASSWORD),
        ),
        // People of the firm: owners and security members, not API callers.
        user("JSMITH", "Jane Smith", "user", None),
        user("LWONG", "Lee Wong", "user", None),
        user("APATEL", "Asha Patel", "user", None),
        user("MCHEN", "Ming Chen", "user", None),
    ];
    let groups = vec![
        group("LITIGATION", "Litigation", &["JSMITH", "MCHEN"]),
        group("PROPERTY", "Property", &["APATEL"]),
        // Membership here is what the change-event queue requires of the service account.
        group("NRTADMIN", "NRT Administrators", &[SERVICE_USER]),
    ];

    let litigation = template(
        LIBRARY,
        100,
        "Litigation Template",
        "Folder structure for litigation matters",
        DefaultSecurity::Private,
        vec![
            member("LITIGATION", MemberType::Group, AccessLevel::ReadWrite),
            member("JSMITH", MemberType::User, AccessLevel::FullAccess),
        ],
    );
    let property = template(
        LIBRARY,
        200,
        "Property Template",
        "Folder structure for property matters",
        DefaultSecurity::Public,
        Vec::new(),
    );
    let branch = template(
        BRANCH_LIBRARY,
        300,
        "Branch Office Template",
        "Folder structure for the branch office's matters",
        DefaultSecurity::Public,
        // A group, so that a client reading the branch's member shape wrong shows (a group
        // taken for a user is an unknown user).
        vec![member("PROPERTY", MemberType::Group, AccessLevel::Read)],
    );
    let mut folders = template_folders(
        LIBRARY,
        100,
        &[
            (101, "Correspondence", None, false),
            (102, "Pleadings", None, false),
            (103, "Filed", Some(102), false),
            (104, "Drafts", Some(102), false),
            (105, "Evidence", None, false),
            (106, "Billing", None, true),
        ],
    );
    folders.extend(template_folders(
        LIBRARY,
        200,
        &[
            (201, "Contracts", None, false),
            (202, "Due Diligence", None, false),
            (203, "Searches", Some(202), false),
            (204, "Settlement", None, false),
            (205, "Correspondence", None, false),
            (206, "Board Minutes", None, true),
        ],
    ));
    folders.extend(template_folders(
        BRANCH_LIBRARY,
        300,
        &[
            (301, "Client Documents", None, false),
            (302, "Correspondence", None, false),
            (303, "Filed", Some(302), false),
            (304, "Archive", None, true),
        ],
    ));

    Inner {
        customer_id: CUSTOMER_ID,
        library: LIBRARY.to_owned(),
        libraries: vec![LIBRARY.to_owned(), BRANCH_LIBRARY.to_owned()],
        users,
        groups,
        clients: vec![OAuthClient {
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned(),
        }],
        access_tokens: HashMap::new(),
        refresh_tokens: HashMap::new(),
        codes: HashMap::new(),
        next_family: 0,
        auto_approve: None,
        customs: BTreeMap::new(),
        workspaces: [(100, litigation), (200, property), (300, branch)]
            .into_iter()
            .collect(),
        folders: folders.into_iter().collect(),
        documents: BTreeMap::new(),
        next_number: FIRST_NEW_NUMBER,
        events: EventQueue::new(DEFAULT_EVENT_RETENTION),
        // The seeded templates carry no custom values.
        custom_index: Default::default(),
    }
}
