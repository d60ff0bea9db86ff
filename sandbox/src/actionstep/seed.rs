//! The emulator's starting data: a small firm with lawyers, clients (people and companies, with
//! names that are not ASCII), two action types that match the iManage sandbox's templates, two
//! open matters and one template action.

use super::model::{Action, ActionParticipant, ActionType, Participant, ParticipantType};
use super::store::Store;

/// The participant type of a matter's clients.
pub const CLIENT_TYPE: u64 = 5;
/// The action type `Litigation`.
pub const LITIGATION: u64 = 12;
/// The action type `Conveyancing`.
pub const CONVEYANCING: u64 = 14;
/// The lawyer Jane Smith (the iManage sandbox's `JSMITH`, by email).
pub const JANE_SMITH: u64 = 311;
/// The lawyer Li Wong (the iManage sandbox's `LWONG`, by email).
pub const LI_WONG: u64 = 312;
/// A client who is a person: Aroha Ngāta.
pub const AROHA: u64 = 5120;
/// A client that is a company: Müller & Söhne GmbH.
pub const MULLER: u64 = 5121;
/// A client who is a person: Zoë Brontë-O'Connor.
pub const ZOE: u64 = 5122;
/// A client that is a company: Société Générale de Café SA.
pub const CAFE: u64 = 5123;
/// New actions and participants are numbered from here.
pub const FIRST_NEW_ID: u64 = 7000;

fn person(id: u64, first: &str, last: &str, email: &str) -> Participant {
    Participant {
        id,
        display_name: format!("{first} {last}"),
        is_company: false,
        company_name: None,
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        email: Some(email.into()),
    }
}

fn company(id: u64, name: &str, email: &str) -> Participant {
    Participant {
        id,
        display_name: name.into(),
        is_company: true,
        company_name: Some(name.into()),
        first_name: None,
        last_name: None,
        email: Some(email.into()),
    }
}

fn action(
    id: u64,
    name: &str,
    reference: &str,
    kind: u64,
    lawyer: u64,
    client: u64,
    status: &str,
) -> Action {
    Action {
        id,
        name: name.into(),
        reference: Some(reference.into()),
        priority: 0,
        status: status.into(),
        is_deleted: false,
        action_type: kind,
        assigned_to: Some(lawyer),
        primary_participants: vec![client],
        created: "2026-11-20T09:14:02+13:00".into(),
        modified: "2026-11-20T09:14:02+13:00".into(),
    }
}

pub(crate) fn seed(store: &mut Store) {
    for (id, name) in [(LITIGATION, "Litigation"), (CONVEYANCING, "Conveyancing")] {
        store.action_types.insert(
            id,
            ActionType {
                id,
                name: name.into(),
            },
        );
    }
    for (id, name) in [
        (CLIENT_TYPE, "Client"),
        (6, "Other Side"),
        (7, "Responsible Lawyer"),
    ] {
        store.participant_types.insert(
            id,
            ParticipantType {
                id,
                name: name.into(),
            },
        );
    }
    for p in [
        person(JANE_SMITH, "Jane", "Smith", "jsmith@sandbox.example"),
        person(LI_WONG, "Li", "Wong", "lwong@sandbox.example"),
        person(AROHA, "Aroha", "Ngāta", "aroha@example.nz"),
        company(MULLER, "Müller & Söhne GmbH", "info@mueller-soehne.example"),
        person(ZOE, "Zoë", "Brontë-O'Connor", "zoe@example.ie"),
        company(CAFE, "Société Générale de Café SA", "contact@cafe.example"),
    ] {
        store.participants.insert(p.id, p);
    }
    for a in [
        action(
            1042,
            "Ngāta v Tūhoe Holdings",
            "LIT-2026-0042",
            LITIGATION,
            JANE_SMITH,
            AROHA,
            "Active",
        ),
        action(
            1043,
            "Purchase of 12 Kōwhai Street",
            "CONV-2026-0043",
            CONVEYANCING,
            LI_WONG,
            MULLER,
            "Active",
        ),
        action(
            900,
            "Precedent: Conveyancing",
            "TEMPLATE-CONV",
            CONVEYANCING,
            LI_WONG,
            CAFE,
            "Template",
        ),
    ] {
        for client in &a.primary_participants {
            store.action_participants.push(ActionParticipant {
                action: a.id,
                participant_type: CLIENT_TYPE,
                participant: *client,
            });
        }
        store.actions.insert(a.id, a);
    }
    store.next_id = FIRST_NEW_ID;
}
