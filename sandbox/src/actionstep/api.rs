//! The REST API's read side: actions (with `include=actionType,assignedTo` answered under
//! `linked`), action types, participants, participant types and action participants (filtered
//! by `action` and `participantType`), in the shapes of a GET (see `model`). One record by id
//! is an object, a listing is an array, as in Actionstep's answers.

use std::collections::{BTreeSet, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::error::{AsError, AsResult};
use super::extract::authorize;
use super::state::SharedActionstep;

type Params = Query<HashMap<String, String>>;

fn id(raw: &str, what: &str) -> AsResult<u64> {
    raw.parse()
        .map_err(|_| AsError::not_found(format!("no {what} {raw}")))
}

fn includes(q: &HashMap<String, String>) -> BTreeSet<String> {
    q.get("include")
        .map(|i| {
            i.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /api/rest/actions/{id}`.
pub async fn action(
    State(state): State<SharedActionstep>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Query(q): Params,
) -> AsResult<Json<Value>> {
    authorize(&state, &headers)?;
    let id = id(&raw, "action")?;
    let s = state.lock();
    let a = s
        .actions
        .get(&id)
        .ok_or_else(|| AsError::not_found(format!("no action {id}")))?;
    let inc = includes(&q);
    let mut linked = serde_json::Map::new();
    if inc.contains("actiontype") {
        let types: Vec<Value> = s
            .action_types
            .get(&a.action_type)
            .map(|t| t.json())
            .into_iter()
            .collect();
        linked.insert("actiontypes".into(), json!(types));
    }
    if inc.contains("assignedto") {
        let people: Vec<Value> = a
            .assigned_to
            .and_then(|p| s.participants.get(&p))
            .map(|p| p.json())
            .into_iter()
            .collect();
        linked.insert("participants".into(), json!(people));
    }
    let mut answer = json!({
        "links": {
            "actions.actionType": {"href": "{api}/rest/actiontypes/{actions.actionType}", "type": "actiontypes"},
            "actions.assignedTo": {"href": "{api}/rest/participants/{actions.assignedTo}", "type": "participants"},
        },
        "actions": a.json(),
    });
    if !linked.is_empty() {
        answer["linked"] = Value::Object(linked);
    }
    Ok(Json(answer))
}

/// `GET /api/rest/actiontypes/{id}`.
pub async fn action_type(
    State(state): State<SharedActionstep>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> AsResult<Json<Value>> {
    authorize(&state, &headers)?;
    let id = id(&raw, "action type")?;
    let s = state.lock();
    let t = s
        .action_types
        .get(&id)
        .ok_or_else(|| AsError::not_found(format!("no action type {id}")))?;
    Ok(Json(json!({"actiontypes": t.json()})))
}

/// `GET /api/rest/participants/{id}`.
pub async fn participant(
    State(state): State<SharedActionstep>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> AsResult<Json<Value>> {
    authorize(&state, &headers)?;
    let id = id(&raw, "participant")?;
    let s = state.lock();
    let p = s
        .participants
        .get(&id)
        .ok_or_else(|| AsError::not_found(format!("no participant {id}")))?;
    Ok(Json(json!({"participants": p.json()})))
}

/// `GET /api/rest/participanttypes`.
pub async fn participant_types(
    State(state): State<SharedActionstep>,
    headers: HeaderMap,
) -> AsResult<Json<Value>> {
    authorize(&state, &headers)?;
    let s = state.lock();
    let all: Vec<Value> = s.participant_types.values().map(|t| t.json()).collect();
    Ok(Json(json!({"participanttypes": all})))
}

/// `GET /api/rest/actionparticipants?action=&participantType=[&include=participant]`.
pub async fn action_participants(
    State(state): State<SharedActionstep>,
    headers: HeaderMap,
    Query(q): Params,
) -> AsResult<Json<Value>> {
    authorize(&state, &headers)?;
    let filter = |k: &str| -> AsResult<Option<u64>> {
        q.get(k)
            .map(|v| {
                v.parse()
                    .map_err(|_| AsError::bad_request(format!("{k} must be an id")))
            })
            .transpose()
    };
    let (action, kind) = (filter("action")?, filter("participantType")?);
    let s = state.lock();
    let found: Vec<_> = s
        .action_participants
        .iter()
        .filter(|ap| action.is_none_or(|a| ap.action == a))
        .filter(|ap| kind.is_none_or(|k| ap.participant_type == k))
        .collect();
    let mut answer =
        json!({"actionparticipants": found.iter().map(|ap| ap.json()).collect::<Vec<_>>()});
    if includes(&q).contains("participant") {
        let people: Vec<Value> = found
            .iter()
            .filter_map(|ap| s.participants.get(&ap.participant))
            .map(|p| p.json())
            .collect();
        answer["linked"] = json!({"participants": people});
    }
    Ok(Json(answer))
}
