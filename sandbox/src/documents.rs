//! Documents: multipart upload into a folder, profile read, download. One version each.

use std::collections::BTreeMap;

use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::{check_name, data, Fields, Lib, Paging};
use crate::model::{DefaultSecurity, Document};
use crate::objects::{find_folder, folder_holds, folder_writable};
use crate::store::{library_of, same_library, Inner};

/// Upload size limit: big enough for real documents, small enough for a sandbox in memory.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

pub fn render(doc: &Document, base: &str) -> Value {
    json!({
        "id": doc.id,
        "wstype": "document",
        "database": library_of(&doc.id),
        "document_number": doc.document_number,
        "version": doc.version,
        "name": doc.name,
        "extension": doc.extension,
        "size": doc.size,
        "folder_id": doc.folder_id,
        "workspace_id": doc.workspace_id,
        "class": doc.class,
        "author": doc.author,
        "default_security": doc.default_security.as_str(),
        "custom1": doc.custom.get("custom1"),
        "custom2": doc.custom.get("custom2"),
        "create_date": doc.create_date,
        "edit_date": doc.edit_date,
        "iwl": format!("iwl:dms=sandbox&&lib={}&&num={}&&ver={}", library_of(&doc.id), doc.document_number, doc.version),
        "document_url": format!("{base}/work/link/d/{}", doc.id),
    })
}

fn multipart_error(err: MultipartError) -> ApiError {
    let status = err.status();
    let text = err.body_text();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(status, "Payload Too Large").with_message("PayloadTooLarge", text, None)
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "Bad Request").with_message(
            "InvalidRequest",
            text,
            None,
        )
    }
}

/// The parts of an upload.
struct Upload {
    profile: Map<String, Value>,
    file_name: Option<String>,
    content: Vec<u8>,
}

async fn read_upload(multipart: Result<Multipart, MultipartRejection>) -> ApiResult<Upload> {
    let mut multipart = multipart.map_err(|e| {
        ApiError::bad_request(format!("expected multipart/form-data: {}", e.body_text()))
    })?;
    let mut profile = None;
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("profile") => profile = Some(field.bytes().await.map_err(multipart_error)?),
            Some("file") => {
                let file_name = field.file_name().map(str::to_owned);
                file = Some((file_name, field.bytes().await.map_err(multipart_error)?));
            }
            // Other parts are ignored, as a server ignores unknown form fields.
            _ => {}
        }
    }
    let profile =
        profile.ok_or_else(|| ApiError::invalid_field("profile", "the profile part is missing"))?;
    let (file_name, content) =
        file.ok_or_else(|| ApiError::invalid_field("file", "the file part is missing"))?;
    let profile = match serde_json::from_slice::<Value>(&profile) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return Err(ApiError::invalid_field(
                "profile",
                "the profile part must be a JSON object",
            ))
        }
        Err(e) => {
            return Err(ApiError::invalid_field(
                "profile",
                format!("the profile part is not valid JSON: {e}"),
            ))
        }
    };
    Ok(Upload {
        profile,
        file_name,
        content: content.to_vec(),
    })
}

/// `POST /folders/{id}/documents`.
pub async fn upload(
    lib: Lib,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    // Refuse before reading up to 64 MiB for a folder that is not there.
    {
        let inner = lib.state().lock()?;
        let number = find_folder(&inner, lib.param("id")?)?;
        let workspace_id = inner
            .folders
            .get(&number)
            .map(|f| f.workspace_id.clone())
            .unwrap_or_default();
        folder_writable(&inner, &workspace_id)?;
        if let Some(folder) = inner.folders.get(&number) {
            folder_holds(folder, "documents")?;
        }
    }
    let upload = read_upload(multipart).await?;
    // `doc_profile` is the documented wrapper; a bare profile object is taken too.
    let profile = match Fields(&upload.profile).object("doc_profile")? {
        Some(inner) => inner.clone(),
        None => upload.profile.clone(),
    };
    let fields = Fields(&profile);
    let (stem, file_extension) = match upload.file_name.as_deref().map(|n| n.rsplit_once('.')) {
        Some(Some((stem, ext))) => (Some(stem.to_owned()), Some(ext.to_owned())),
        Some(None) => (upload.file_name.clone(), None),
        None => (None, None),
    };
    let name = fields
        .string("name")?
        .or(stem)
        .ok_or_else(|| ApiError::invalid_field("name", "doc_profile.name is required"))?;
    check_name("name", &name, 254)?;
    let extension = fields
        .string("extension")?
        .or(file_extension)
        .unwrap_or_default();
    let extension = extension.trim_start_matches('.').to_owned();
    let class = fields
        .string("class")?
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "DOC".to_owned());
    let author = fields.string("author")?.filter(|a| !a.is_empty());
    let default_security = match fields.string("default_security")? {
        None => DefaultSecurity::Inherit,
        Some(text) => DefaultSecurity::parse(&text).ok_or_else(|| {
            ApiError::invalid_field(
                "default_security",
                "default_security must be inherit, private, view or public",
            )
        })?,
    };

    let inherit = match Fields(&upload.profile).boolean("inherit_profile_from_folder")? {
        Some(b) => b,
        None => fields
            .boolean("inherit_profile_from_folder")?
            .unwrap_or(false),
    };
    let mut custom = BTreeMap::new();
    for field in ["custom1", "custom2"] {
        if let Some(v) = fields.string(field)?.filter(|v| !v.is_empty()) {
            custom.insert(field.to_owned(), v);
        }
    }

    let now = lib.state().clock().now_rfc3339();
    let mut inner = lib.state().lock()?;
    // The folder may have gone while the body was read.
    let folder_number = find_folder(&inner, lib.param("id")?)?;
    let folder = inner
        .folders
        .get(&folder_number)
        .ok_or_else(|| ApiError::internal("folder vanished"))?;
    let (folder_id, workspace_id) = (folder.id.clone(), folder.workspace_id.clone());
    // Inheriting fills what the upload left out from the folder's profile.
    if inherit {
        if let Some(Value::Object(p)) = &folder.profile {
            for field in ["custom1", "custom2"] {
                if let Some(Value::String(v)) = p.get(field) {
                    custom.entry(field.to_owned()).or_insert_with(|| v.clone());
                }
            }
        }
    }
    // With `warnings_for_required_and_disabled_fields`, iManage stores the document and lists
    // what it found wrong with the profile in a top-level `warnings[]` (Power Automate swagger).
    // The sandbox warns of a missing client or matter and of a disabled lookup value.
    let mut warnings = Vec::new();
    let library = library_of(&folder_id).to_owned();
    for field in ["custom1", "custom2"] {
        match custom.get(field) {
            None => warnings.push(json!({
                "field": field,
                "code": "RequiredField",
                "message": format!("{field} is required by the library's document profile"),
            })),
            Some(v) => {
                let parent = (field == "custom2")
                    .then(|| custom.get("custom1"))
                    .flatten();
                if let Some(value) =
                    inner.custom_value(&library, field, v, parent.map(String::as_str))
                {
                    if !value.enabled {
                        warnings.push(json!({
                            "field": field,
                            "code": "DisabledValue",
                            "message": format!("{field} value {v} is disabled"),
                        }));
                    }
                }
            }
        }
    }
    let author = match author {
        Some(author) => author,
        None => inner
            .user(lib.user())
            .map_or_else(|| lib.user().to_owned(), |u| u.id.clone()),
    };
    let number = inner.allocate_number();
    let doc = Document {
        id: format!("{}.1", inner.object_id_in(library_of(&folder_id), number)),
        document_number: number,
        version: 1,
        name,
        extension,
        size: upload.content.len() as u64,
        folder_id,
        workspace_id,
        class,
        author,
        default_security,
        custom,
        inherited_profile: inherit,
        create_date: now.clone(),
        edit_date: now,
        content: upload.content,
    };
    let rendered = render(&doc, lib.base());
    inner.documents.insert(number, doc);
    let mut answer = data(rendered);
    answer["warnings"] = Value::Array(warnings);
    Ok((StatusCode::CREATED, Json(answer)))
}

/// The document of `ACTIVE!1005.1`, or of `ACTIVE!1005` meaning its latest (only) version.
fn find<'a>(inner: &'a Inner, id: &str) -> ApiResult<&'a Document> {
    let not_found = || ApiError::not_found(format!("document {id} not found"));
    let (number, version) = inner.parse_id(id).ok_or_else(not_found)?;
    let doc = inner
        .documents
        .get(&number)
        .filter(|d| same_library(&d.id, id))
        .ok_or_else(not_found)?;
    if version.is_some_and(|v| v != doc.version) {
        return Err(not_found());
    }
    Ok(doc)
}

pub async fn get(lib: Lib) -> ApiResult<Json<Value>> {
    let inner = lib.state().lock()?;
    let doc = find(&inner, lib.param("id")?)?;
    Ok(Json(data(render(doc, lib.base()))))
}

pub async fn download(lib: Lib) -> ApiResult<Response> {
    let (content, file_name) = {
        let inner = lib.state().lock()?;
        let doc = find(&inner, lib.param("id")?)?;
        let file_name = if doc.extension.is_empty() {
            doc.name.clone()
        } else {
            format!("{}.{}", doc.name, doc.extension)
        };
        (doc.content.clone(), file_name)
    };
    let mut response = (StatusCode::OK, content).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    // A name that cannot go into a header plainly is left out rather than mangled.
    let safe = file_name.replace(['"', '\\'], "_");
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `GET /folders/{id}/documents`.
pub async fn list_in_folder(lib: Lib) -> ApiResult<Json<Value>> {
    let inner = lib.state().lock()?;
    let number = find_folder(&inner, lib.param("id")?)?;
    let id = inner
        .folders
        .get(&number)
        .map(|f| f.id.clone())
        .ok_or_else(|| ApiError::internal("folder vanished"))?;
    let items = inner
        .documents
        .values()
        .filter(|d| d.folder_id == id)
        .map(|d| render(d, lib.base()))
        .collect();
    Ok(Json(Paging::from_query(&lib)?.page(items)))
}
