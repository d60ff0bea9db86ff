//! The default state: a small firm with its main library and a branch office's library, a service
//! account, a few people and groups, the registered matterlink application, and templates whose
//! ids configurations can name (two in the main library, one in the branch's).

use std::collections::{BTreeMap, HashMap};

use crate::config::{
    BRANCH_LIBRARY, CLIENT_ID, CLIENT_SECRET, CUSTOMER_ID, LIBRARY, SERVICE_PASSWORD, SERVICE_USER,
};
use crate::events::{EventQueue, DEFAULT_EVENT_RETENTION};
use serde_json::json;

use crate::model::{
    AccessLevel, CustomValue, DefaultSecurity, Folder, FolderKind, Group, MemberType,
    SecurityMember, User, ViewType, Workspace,
};
use crate::store::{custom_table, Inner};
use crate::tokens::OAuthClient;

/// Numbers below this are the seed's; new objects count up from here.
pub const FIRST_NEW_NUMBER: u64 = 1000;

/// Ids of the seeded templates.
pub const LITIGATION_TEMPLATE: &str = "ACTIVE!100";
pub const PROPERTY_TEMPLATE: &str = "ACTIVE!200";
/// The branch library's template (folders `BRANCH!301..304`). Numbered apart from the main
/// library's seed because object numbers are one sequence across libraries.
pub const BRANCH_TEMPLATE: &str = "BRANCH!300";

/// A template profile value standing for the workspace's own value of the field.
const WORKSPACE_VALUE: &str = "%workspace_value%";

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
        name_value_pairs: BTreeMap::new(),
    }
}

/// A template's folders as (number, name, parent number or None for root, optional). The flag
/// lives only in the folder's name-value pairs (`IMCC_IsOptional`), as in iManage.
fn template_folders(
    library: &str,
    workspace: u64,
    folders: &[(u64, &str, Option<u64>, bool)],
) -> Vec<(u64, Folder)> {
    folders
        .iter()
        .map(|&(number, name, parent, optional)| {
            let mut name_value_pairs = BTreeMap::new();
            if optional {
                name_value_pairs.insert("IMCC_IsOptional".to_owned(), "true".to_owned());
            }
            let folder = Folder {
                id: format!("{library}!{number}"),
                name: name.to_owned(),
                description: String::new(),
                parent_id: format!("{library}!{}", parent.unwrap_or(workspace)),
                workspace_id: format!("{library}!{workspace}"),
                default_security: DefaultSecurity::Inherit,
                view_type: ViewType::Document,
                profile: None,
                kind: FolderKind::Folder,
                searchprofile: None,
                name_value_pairs,
                create_date: SEED_DATE.to_owned(),
                edit_date: SEED_DATE.to_owned(),
                members: Vec::new(),
            };
            (number, folder)
        })
        .collect()
}

/// Changes one seeded folder: the Litigation template shows every kind a template holds.
fn shape(folders: &mut [(u64, Folder)], number: u64, change: impl FnOnce(&mut Folder)) {
    if let Some((_, folder)) = folders.iter_mut().find(|(n, _)| *n == number) {
        change(folder);
    }
}

fn pairs(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
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

    let mut litigation = template(
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
    litigation.name_value_pairs = pairs(&[("PracticeArea", "Litigation"), ("RetentionYears", "7")]);
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
            (107, "Court", None, false),
            (108, "Hearings", Some(107), false),
            (109, "Orders", None, false),
        ],
    );
    shape(&mut folders, 101, |f| f.view_type = ViewType::Email);
    shape(&mut folders, 102, |f| {
        // Class and subclass in name-value pairs, the matter's fields inherited from the
        // workspace the folder is copied into.
        f.name_value_pairs = pairs(&[("iMan___8", "PLEAD"), ("iMan___9", "COURT")]);
        f.profile = Some(json!({"custom1": WORKSPACE_VALUE, "custom2": WORKSPACE_VALUE}));
    });
    shape(&mut folders, 105, |f| {
        f.default_security = DefaultSecurity::Private;
        f.members = vec![
            member("JSMITH", MemberType::User, AccessLevel::FullAccess),
            member("MCHEN", MemberType::User, AccessLevel::Read),
        ];
    });
    shape(&mut folders, 107, |f| f.kind = FolderKind::Tab);
    shape(&mut folders, 109, |f| {
        f.kind = FolderKind::SearchFolder;
        f.searchprofile = Some(json!({"class": "ORDER", "custom2": WORKSPACE_VALUE}));
    });
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
        my_matters: BTreeMap::new(),
    }
}

/// The legacy workspaces [`legacy_workspaces`] adds: (number, name, custom1, custom2, custom13).
/// Numbered below [`FIRST_NEW_NUMBER`] so that the first workspace matterlink creates is still
/// `ACTIVE!1000`; the fixtures `tests/fixtures/matter-legacy*.json` are the matters they belong
/// to.
pub const LEGACY_WORKSPACES: &[(u64, &str, &str, Option<&str>, &str)] = &[
    // Found by Matter ID (custom2 = 88231): matter-legacy.json.
    (
        501,
        "Okafor Estate",
        "C-777",
        Some("88231"),
        "OLD-1999-0713",
    ),
    // No Matter ID, found by File Reference: matter-legacy-by-reference.json.
    (
        502,
        "12 Harbour St (old files)",
        "C-201",
        None,
        "OLD-2004-0150",
    ),
    // Two workspaces with one File Reference: matter-legacy-several.json, a person picks.
    (
        503,
        "Ngata Trust dispute (volume 1)",
        "C-300",
        None,
        "OLD-2011-0042",
    ),
    (
        504,
        "Ngata Trust dispute (volume 2)",
        "C-300",
        None,
        "OLD-2011-0042",
    ),
];

/// Adds workspaces made before matterlink (see [`LEGACY_WORKSPACES`]), with the lookup values
/// their profiles name, so that resolve-legacy and link-workspace have something to find.
/// `matterlink sandbox` seeds them; tests start without them unless they ask, since they count
/// workspaces and lookup values.
pub(crate) fn legacy_workspaces(inner: &mut Inner) {
    let clients = [
        ("C-777", "Okafor Family"),
        ("C-201", "Ngā Tāngata Trust"),
        ("C-300", "Ngata Trust"),
    ];
    for (id, description) in clients {
        add_value(inner, "custom1", id, description, None);
    }
    for &(number, name, client, matter, reference) in LEGACY_WORKSPACES {
        let mut custom = BTreeMap::new();
        custom.insert("custom1".to_owned(), client.into());
        if let Some(matter) = matter {
            add_value(inner, "custom2", matter, name, Some(client));
            custom.insert("custom2".to_owned(), matter.into());
        }
        custom.insert("custom13".to_owned(), reference.into());
        let ws = Workspace {
            id: format!("{LIBRARY}!{number}"),
            name: name.to_owned(),
            description: "Made before matterlink".to_owned(),
            owner: SERVICE_USER.to_owned(),
            default_security: DefaultSecurity::Public,
            custom,
            subclass: None,
            create_date: SEED_DATE.to_owned(),
            edit_date: SEED_DATE.to_owned(),
            is_template: false,
            members: Vec::new(),
            name_value_pairs: Default::default(),
        };
        inner.custom_index.add(number, &ws);
        inner.workspaces.insert(number, ws);
    }
}

fn add_value(inner: &mut Inner, field: &str, id: &str, description: &str, parent: Option<&str>) {
    let table = inner
        .customs
        .entry(custom_table(LIBRARY, field))
        .or_default();
    if table.with_id(id).next().is_none() {
        table.push(CustomValue {
            id: id.to_owned(),
            description: description.to_owned(),
            enabled: true,
            parent: parent.map(str::to_owned),
        });
    }
}
