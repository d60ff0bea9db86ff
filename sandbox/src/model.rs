//! The objects the sandbox keeps. They are public so that tests can inspect state without HTTP;
//! their API (JSON) form is rendered above the state (`objects.rs` and the endpoint modules),
//! because it depends on neighbours (a folder's `has_subfolders`, a lookup's description, the base
//! URL). A security member has no neighbours and renders itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultSecurity {
    /// Only folders and documents may inherit; a workspace has nothing to inherit from.
    Inherit,
    Private,
    View,
    Public,
}

impl DefaultSecurity {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "inherit" => Some(DefaultSecurity::Inherit),
            "private" => Some(DefaultSecurity::Private),
            "view" => Some(DefaultSecurity::View),
            "public" => Some(DefaultSecurity::Public),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DefaultSecurity::Inherit => "inherit",
            DefaultSecurity::Private => "private",
            DefaultSecurity::View => "view",
            DefaultSecurity::Public => "public",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberType {
    User,
    Group,
}

impl MemberType {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "user" => Some(MemberType::User),
            "group" => Some(MemberType::Group),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MemberType::User => "user",
            MemberType::Group => "group",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    NoAccess,
    Read,
    ReadWrite,
    FullAccess,
}

impl AccessLevel {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "no_access" => Some(AccessLevel::NoAccess),
            "read" => Some(AccessLevel::Read),
            "read_write" => Some(AccessLevel::ReadWrite),
            "full_access" => Some(AccessLevel::FullAccess),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::NoAccess => "no_access",
            AccessLevel::Read => "read",
            AccessLevel::ReadWrite => "read_write",
            AccessLevel::FullAccess => "full_access",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewType {
    Document,
    Email,
}

impl ViewType {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "document" => Some(ViewType::Document),
            "email" => Some(ViewType::Email),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ViewType::Document => "document",
            ViewType::Email => "email",
        }
    }
}

/// What a workspace's container is. Templates hold all three, and a workspace made from one
/// must get each as its kind (docs/imanage-api.md, "Templates").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FolderKind {
    /// A document (or email) folder: holds documents and subfolders.
    #[default]
    Folder,
    /// A tab at the top of a workspace: holds folders, never documents.
    Tab,
    /// A saved search (`searchprofile`): holds nothing of its own.
    SearchFolder,
}

impl FolderKind {
    /// The `wstype` of the object's API form (`"tab"` and `"search"` are **assumed**).
    pub fn wstype(self) -> &'static str {
        match self {
            FolderKind::Folder => "folder",
            FolderKind::Tab => "tab",
            FolderKind::SearchFolder => "search",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub full_name: String,
    pub email: String,
    pub user_type: String,
    /// Never serialised: inspection output may end up in logs.
    #[serde(skip_serializing, default)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub full_name: String,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityMember {
    pub id: String,
    #[serde(rename = "type")]
    pub member_type: MemberType,
    pub access_level: AccessLevel,
}

impl SecurityMember {
    /// The wire form of a member, the same in security answers, change events and Sync trustees.
    pub(crate) fn to_json(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "type": self.member_type.as_str(),
            "access_level": self.access_level.as_str(),
        })
    }
}

/// A value of a lookup table (`custom1`..`custom12`, `custom29`, `custom30`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomValue {
    pub id: String,
    pub description: String,
    pub enabled: bool,
    /// The parent value's id, for the child tables `custom2` (parent `custom1`) and `custom30`.
    pub parent: Option<String>,
}

/// A workspace, or a template when `is_template` (templates are workspace-shaped in iManage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub description: String,
    pub owner: String,
    pub default_security: DefaultSecurity,
    /// `customN` → value, already normalised to its kind (string, integer, date-time, boolean).
    pub custom: BTreeMap<String, Value>,
    pub subclass: Option<String>,
    pub create_date: String,
    pub edit_date: String,
    pub is_template: bool,
    pub members: Vec<SecurityMember>,
    /// `GET|PATCH /workspaces/{id}/name-value-pairs`: a template's carry what provisioning
    /// copies; a workspace made from a template records it as `TemplateId`.
    pub name_value_pairs: BTreeMap<String, String>,
}

impl Workspace {
    /// The value of a custom field as text, as a search filter compares it.
    pub fn custom_text(&self, field: &str) -> Option<String> {
        self.custom.get(field).map(crate::fields::filter_text)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Folder {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The workspace id for a root-level folder, else the parent folder's id.
    pub parent_id: String,
    pub workspace_id: String,
    pub default_security: DefaultSecurity,
    pub view_type: ViewType,
    pub profile: Option<Value>,
    pub kind: FolderKind,
    /// A search folder's saved search.
    pub searchprofile: Option<Value>,
    /// `GET /folders/{id}/name-value-pairs`. Where a template folder says it is optional
    /// (`IMCC_IsOptional`) and holds its class and subclass (`iMan___8`, `iMan___9`): real
    /// folder objects carry no `optional` field.
    pub name_value_pairs: BTreeMap<String, String>,
    pub create_date: String,
    pub edit_date: String,
    pub members: Vec<SecurityMember>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub id: String,
    pub document_number: u64,
    pub version: u32,
    pub name: String,
    pub extension: String,
    pub size: u64,
    pub folder_id: String,
    pub workspace_id: String,
    pub class: String,
    pub author: String,
    pub default_security: DefaultSecurity,
    /// The profile's client and matter (`custom1`, `custom2`), sent with the upload or inherited
    /// from the folder's profile (`inherit_profile_from_folder`).
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
    /// Whether the upload asked to inherit the folder's profile.
    #[serde(default)]
    pub inherited_profile: bool,
    pub create_date: String,
    pub edit_date: String,
    /// Kept out of the serialised form: a byte array as JSON numbers helps nobody.
    #[serde(skip)]
    pub content: Vec<u8>,
}
