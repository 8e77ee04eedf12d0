//! A patient's export as a FHIR R4 Bundle (type `collection`), built with
//! serde_json: one Patient; one Practitioner per doctor seen; an Appointment
//! per consultation; an Encounter per consultation that started; one
//! MedicationRequest per medication entry of every prescription version; one
//! AuditEvent per audit row about the record.
//!
//! Every entry's `fullUrl` is `urn:uuid:<id>` and every reference inside the
//! Bundle points at one of them. Ids are our own row ids where a resource is
//! one row (Patient: the user's id, Practitioner: the doctor's record id,
//! Appointment: the consultation's id, AuditEvent: the audit row's id). An
//! Encounter (one per consultation) and a MedicationRequest (one per
//! medication of a prescription) get *name-based* UUIDs, the same on every
//! export: `uuid` is built without its `v5` feature here, so they are UUIDv8
//! from SHA-256 (RFC 9562, appendix B.2): SHA-256 of a fixed namespace UUID,
//! the row's id and a name (`encounter`, `medication/<index>`), truncated to
//! 128 bits with the version and variant bits set.
//!
//! Not in the Bundle (they are in the JSON export): the diagnosis text (FHIR
//! carries a diagnosis as a Condition, outside the agreed resource types),
//! addenda, the chat, payments, reviews and sessions.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use uuid::Uuid;

use crate::domain::prescription::{form_label, route_label, summary, Medication};
use crate::server::services::data_rights::{
    ExportAuditEvent, ExportConsultation, ExportDoctor, ExportPrescription, PatientExport,
};

/// The namespace of Telehealth's name-based FHIR resource ids.
const NAMESPACE: Uuid = Uuid::from_u128(0x3f0c_9a52_1d7e_4b8a_9e61_7c4d_2b8f_a015);

/// The URL of a resource inside the Bundle.
pub fn urn(id: Uuid) -> String {
    format!("urn:uuid:{id}")
}

/// A name-based UUID (version 8, SHA-256) for a resource derived from a row.
pub fn derived_id(base: Uuid, name: &str) -> Uuid {
    let mut hasher = Sha256::new();
    hasher.update(NAMESPACE.as_bytes());
    hasher.update(base.as_bytes());
    hasher.update(name.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// The Encounter of a consultation.
pub fn encounter_id(consultation: Uuid) -> Uuid {
    derived_id(consultation, "encounter")
}

/// The MedicationRequest of the `index`-th medication of a prescription.
pub fn medication_request_id(prescription: Uuid, index: usize) -> Uuid {
    derived_id(prescription, &format!("medication/{index}"))
}

/// FHIR R4 `Appointment.status` for our consultation status.
pub fn appointment_status(status: &str) -> &'static str {
    match status {
        "pending_payment" => "pending",
        "scheduled" => "booked",
        "in_progress" => "arrived",
        "completed" => "fulfilled",
        "cancelled" => "cancelled",
        "no_show" => "noshow",
        _ => "entered-in-error",
    }
}

/// FHIR R4 `Encounter.status`, for a consultation that started (None otherwise).
pub fn encounter_status(status: &str) -> Option<&'static str> {
    match status {
        "in_progress" => Some("in-progress"),
        "completed" => Some("finished"),
        _ => None,
    }
}

/// FHIR `AdministrativeGender` from the free text a person typed.
pub fn administrative_gender(text: &str) -> &'static str {
    match text.trim().to_lowercase().as_str() {
        "male" | "man" | "m" => "male",
        "female" | "woman" | "f" => "female",
        "" | "unknown" | "prefer not to say" => "unknown",
        _ => "other",
    }
}

/// `AuditEvent.action` (C, R, U, D, E) for one of our audit actions.
pub fn audit_action_code(action: &str) -> &'static str {
    let verb = action.rsplit('.').next().unwrap_or(action);
    match verb {
        v if v.ends_with("viewed") || v.ends_with("downloaded") || v.ends_with("exported") => "R",
        "room_entered" => "R",
        "booked" | "issued" | "addendum_added" | "reviewed" | "message_sent" | "sign_up" => "C",
        "deleted" => "D",
        "updated" | "notes_saved" | "started" | "completed" | "cancelled" | "rescheduled" | "no_show"
        | "password_changed" | "password_reset" | "succeeded" | "refunded" => "U",
        _ => "E",
    }
}

/// `AuditEvent.outcome`: 0 success, 4 minor failure (refused, denied, failed).
pub fn audit_outcome(action: &str) -> &'static str {
    let failed = ["denied", "refused", "failed", "declined", "locked"];
    if failed.iter().any(|w| action.contains(w)) {
        "4"
    } else {
        "0"
    }
}

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn reference(id: Uuid, display: Option<String>) -> Value {
    let mut r = Map::new();
    r.insert("reference".into(), urn(id).into());
    if let Some(d) = display {
        r.insert("display".into(), d.into());
    }
    Value::Object(r)
}

fn uri_identifier(id: Uuid) -> Value {
    json!({ "system": "urn:ietf:rfc:3986", "value": urn(id) })
}

fn entry(id: Uuid, resource: Value) -> Value {
    json!({ "fullUrl": urn(id), "resource": resource })
}

fn doctor_name(d: &ExportDoctor) -> String {
    format!("Dr {} {}", d.first_name, d.last_name)
}

/// Drops null members, so optional elements are simply absent (FHIR JSON
/// never carries `null`).
fn compact(mut value: Value) -> Value {
    match &mut value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            for v in map.values_mut() {
                *v = compact(std::mem::take(v));
            }
        }
        Value::Array(items) => {
            for v in items.iter_mut() {
                *v = compact(std::mem::take(v));
            }
        }
        _ => {}
    }
    value
}

fn patient(export: &PatientExport) -> Value {
    let p = &export.profile;
    let mut telecom = vec![json!({ "system": "email", "value": export.account.email, "use": "home" })];
    if let Some(phone) = &p.phone {
        telecom.push(json!({ "system": "phone", "value": phone, "use": "mobile" }));
    }
    let has_address = [&p.address, &p.city, &p.state, &p.country, &p.pincode].iter().any(|f| f.is_some());
    let address = has_address.then(|| {
        vec![json!({
            "use": "home",
            "line": p.address.as_ref().map(|a| vec![a]),
            "city": p.city,
            "state": p.state,
            "postalCode": p.pincode,
            "country": p.country,
        })]
    });
    json!({
        "resourceType": "Patient",
        "id": export.account.id,
        "identifier": [uri_identifier(export.account.id)],
        "active": true,
        "name": [{ "use": "official", "family": p.last_name, "given": [p.first_name] }],
        "telecom": telecom,
        "gender": p.gender.as_deref().map(administrative_gender),
        "birthDate": p.date_of_birth.map(|d| d.to_string()),
        "address": address,
        "communication": [{
            "language": { "coding": [{ "system": "urn:ietf:bcp:47", "code": p.preferred_language }] },
            "preferred": true,
        }],
    })
}

fn practitioner(d: &ExportDoctor) -> Value {
    json!({
        "resourceType": "Practitioner",
        "id": d.id,
        "identifier": [
            uri_identifier(d.id),
            { "type": { "text": "Medical licence number" }, "value": d.licence_number },
        ],
        "active": true,
        "name": [{ "use": "official", "family": d.last_name, "given": [d.first_name], "prefix": ["Dr"] }],
        "qualification": [{ "code": { "text": d.specialization } }],
    })
}

fn appointment(c: &ExportConsultation, patient_id: Uuid, patient_name: &str) -> Value {
    let minutes = (c.scheduled_end - c.scheduled_start).num_minutes();
    json!({
        "resourceType": "Appointment",
        "id": c.id,
        "identifier": [uri_identifier(c.id)],
        "status": appointment_status(&c.status),
        "cancelationReason": c.cancellation_reason.as_ref().map(|r| json!({ "text": r })),
        "serviceType": [{ "text": c.doctor.specialization }],
        "appointmentType": { "text": format!("{} consultation", c.consultation_type) },
        "reasonCode": c.symptoms.as_ref().map(|s| vec![json!({ "text": s })]),
        "start": instant(c.scheduled_start),
        "end": instant(c.scheduled_end),
        "minutesDuration": minutes,
        "created": instant(c.booked_at),
        "participant": [
            {
                "actor": reference(patient_id, Some(patient_name.to_owned())),
                "required": "required",
                "status": "accepted",
            },
            {
                "actor": reference(c.doctor.id, Some(doctor_name(&c.doctor))),
                "required": "required",
                "status": "accepted",
            },
        ],
    })
}

fn encounter(c: &ExportConsultation, status: &str, patient_id: Uuid) -> Value {
    let length = c
        .duration_minutes
        .map(|m| json!({ "value": m, "unit": "min", "system": "http://unitsofmeasure.org", "code": "min" }));
    json!({
        "resourceType": "Encounter",
        "id": encounter_id(c.id),
        "status": status,
        "class": { "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR", "display": "virtual" },
        "type": [{ "text": format!("{} consultation", c.consultation_type) }],
        "serviceType": { "text": c.doctor.specialization },
        "subject": reference(patient_id, None),
        "participant": [{ "individual": reference(c.doctor.id, Some(doctor_name(&c.doctor))) }],
        "appointment": [reference(c.id, None)],
        "period": { "start": c.started_at.map(instant), "end": c.ended_at.map(instant) },
        "length": length,
        "reasonCode": c.symptoms.as_ref().map(|s| vec![json!({ "text": s })]),
    })
}

fn medication_request(
    p: &ExportPrescription,
    index: usize,
    m: &Medication,
    patient_id: Uuid,
    encounter: Option<Uuid>,
    requester: Option<&ExportDoctor>,
) -> Value {
    let mut notes = Vec::new();
    if let Some(text) = &p.instructions {
        notes.push(json!({ "text": text }));
    }
    if let Some(date) = p.follow_up_date {
        notes.push(json!({ "text": format!("Follow-up visit on {date}.") }));
    }
    json!({
        "resourceType": "MedicationRequest",
        "id": medication_request_id(p.id, index),
        "identifier": [uri_identifier(medication_request_id(p.id, index))],
        "groupIdentifier": uri_identifier(p.id),
        "status": if p.is_active { "active" } else { "stopped" },
        "intent": "order",
        "medicationCodeableConcept": { "text": format!("{} {} ({})", m.name, m.strength, form_label(&m.form)) },
        "subject": reference(patient_id, None),
        "encounter": encounter.map(|e| reference(e, None)),
        "authoredOn": instant(p.issued_at),
        "requester": reference(p.doctor_id, requester.map(doctor_name)),
        "note": (!notes.is_empty()).then_some(notes),
        "dosageInstruction": [{
            "sequence": 1,
            "text": summary(m),
            "patientInstruction": m.notes,
            "route": { "text": route_label(&m.route) },
        }],
        "dispenseRequest": {
            "numberOfRepeatsAllowed": m.refills,
            "quantity": { "value": m.quantity },
        },
    })
}

fn audit_event(
    a: &ExportAuditEvent,
    export: &PatientExport,
    patient_name: &str,
    practitioners: &BTreeMap<Uuid, &ExportDoctor>,
    appointments: &[Uuid],
) -> Value {
    let patient_id = export.account.id;
    let who = match (a.actor.as_str(), a.actor_doctor_id) {
        ("you", _) => reference(patient_id, Some(patient_name.to_owned())),
        ("doctor", Some(d)) if practitioners.contains_key(&d) => {
            reference(d, practitioners.get(&d).map(|d| doctor_name(d)))
        }
        ("doctor", _) => json!({ "display": "A doctor" }),
        ("admin", _) => json!({ "display": "A Telehealth administrator" }),
        ("patient", _) => json!({ "display": "Another patient" }),
        _ => json!({ "display": "Telehealth (automatic)" }),
    };
    let network = a.ip_address.as_ref().map(|ip| json!({ "address": ip, "type": "2" }));
    let what = a.resource_id.map(|id| match a.resource_type.as_str() {
        "user" | "profile" if id == patient_id => reference(id, None),
        "consultation" if appointments.contains(&id) => reference(id, None),
        "prescription" => json!({ "identifier": uri_identifier(id) }),
        other => json!({ "identifier": { "system": format!("urn:telehealth:{other}"), "value": id.to_string() } }),
    });
    let entity = what.map(|what| {
        vec![json!({
            "what": what,
            "type": {
                "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                "code": if a.resource_type == "user" || a.resource_type == "profile" { "1" } else { "2" },
            },
        })]
    });
    json!({
        "resourceType": "AuditEvent",
        "id": a.id,
        "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation" },
        "subtype": [{ "system": "urn:telehealth:audit-action", "code": a.action }],
        "action": audit_action_code(&a.action),
        "recorded": a.at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "outcome": audit_outcome(&a.action),
        "agent": [{ "who": who, "requestor": true, "network": network }],
        "source": { "observer": { "display": "Telehealth" } },
        "entity": entity,
    })
}

/// The whole export as a FHIR R4 Bundle of type `collection`.
pub fn bundle(export: &PatientExport) -> Value {
    let patient_id = export.account.id;
    let patient_name = format!("{} {}", export.profile.first_name, export.profile.last_name);
    let mut entries = vec![entry(patient_id, patient(export))];

    // One Practitioner per doctor seen, in the order first met.
    let mut practitioners: BTreeMap<Uuid, &ExportDoctor> = BTreeMap::new();
    for c in &export.consultations {
        if let std::collections::btree_map::Entry::Vacant(seen) = practitioners.entry(c.doctor.id) {
            seen.insert(&c.doctor);
            entries.push(entry(c.doctor.id, practitioner(&c.doctor)));
        }
    }
    let mut appointments = Vec::new();
    let mut encounters: BTreeMap<Uuid, Uuid> = BTreeMap::new();
    for c in &export.consultations {
        appointments.push(c.id);
        entries.push(entry(c.id, appointment(c, patient_id, &patient_name)));
    }
    for c in &export.consultations {
        if let (Some(status), Some(_)) = (encounter_status(&c.status), c.started_at) {
            let id = encounter_id(c.id);
            encounters.insert(c.id, id);
            entries.push(entry(id, encounter(c, status, patient_id)));
        }
    }
    for p in &export.prescriptions {
        let encounter = encounters.get(&p.consultation_id).copied();
        let requester = practitioners.get(&p.doctor_id).copied();
        if requester.is_none() {
            // Every prescription belongs to one of the patient's consultations;
            // never leave a dangling reference should that ever not hold.
            continue;
        }
        for (index, m) in p.medications.iter().enumerate() {
            let resource = medication_request(p, index, m, patient_id, encounter, requester);
            entries.push(entry(medication_request_id(p.id, index), resource));
        }
    }
    for a in &export.audit_trail {
        entries.push(entry(a.id, audit_event(a, export, &patient_name, &practitioners, &appointments)));
    }
    compact(json!({
        "resourceType": "Bundle",
        "id": derived_id(patient_id, &format!("bundle/{}", export.generated_at.timestamp_micros())),
        "meta": { "lastUpdated": instant(export.generated_at) },
        "type": "collection",
        "timestamp": instant(export.generated_at),
        "entry": entries,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;
    use crate::server::services::data_rights::{ExportAccount, ExportProfile};
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, hour, 0, 0).unwrap()
    }

    fn doctor(n: u128) -> ExportDoctor {
        ExportDoctor {
            id: Uuid::from_u128(n),
            first_name: "Gregory".into(),
            last_name: format!("Hart{n}"),
            specialization: "Cardiology".into(),
            licence_number: format!("GMC-{n}"),
        }
    }

    fn consultation(n: u128, d: ExportDoctor, status: &str, started: bool) -> ExportConsultation {
        ExportConsultation {
            id: Uuid::from_u128(0x100 + n),
            doctor: d,
            status: status.into(),
            consultation_type: "video".into(),
            scheduled_start: at(9),
            scheduled_end: at(9) + chrono::Duration::minutes(30),
            booked_at: at(8),
            symptoms: Some("Palpitations".into()),
            diagnosis: None,
            started_at: started.then(|| at(9)),
            ended_at: (status == "completed").then(|| at(9) + chrono::Duration::minutes(20)),
            duration_minutes: (status == "completed").then_some(20),
            cancelled_at: None,
            cancellation_reason: None,
            addenda: vec![],
            chat: vec![],
        }
    }

    fn medication(name: &str) -> Medication {
        Medication {
            name: name.into(),
            strength: "500 mg".into(),
            form: "capsule".into(),
            dose: "1 capsule".into(),
            route: "oral".into(),
            frequency: "three times a day".into(),
            duration: "7 days".into(),
            quantity: 21,
            refills: 0,
            notes: None,
        }
    }

    fn sample() -> PatientExport {
        let hart = doctor(1);
        let lee = doctor(2);
        let completed = consultation(1, hart.clone(), "completed", true);
        let upcoming = consultation(2, hart.clone(), "scheduled", false);
        let cancelled = consultation(3, lee.clone(), "cancelled", false);
        let v1 = ExportPrescription {
            id: Uuid::from_u128(0x200),
            consultation_id: completed.id,
            doctor_id: hart.id,
            version: 1,
            is_active: false,
            supersedes_id: None,
            issued_at: at(10),
            medications: vec![medication("Amoxicillin"), medication("Ibuprofen")],
            lines: vec![],
            instructions: Some("Finish the course.".into()),
            follow_up_date: None,
        };
        let v2 = ExportPrescription {
            id: Uuid::from_u128(0x201),
            version: 2,
            is_active: true,
            supersedes_id: Some(v1.id),
            medications: vec![medication("Amoxicillin")],
            ..v1.clone()
        };
        let audit = |n: u128, action: &str, actor: &str, resource: Uuid, resource_type: &str| ExportAuditEvent {
            id: Uuid::from_u128(0x300 + n),
            at: at(11),
            action: action.into(),
            resource_type: resource_type.into(),
            resource_id: Some(resource),
            actor: actor.into(),
            actor_doctor_id: (actor == "doctor").then_some(hart.id),
            ip_address: (actor == "you").then(|| "203.0.113.9".into()),
            user_agent: None,
            details: json!({}),
        };
        let patient_id = Uuid::from_u128(0x42);
        PatientExport {
            generated_at: at(12),
            account: ExportAccount {
                id: patient_id,
                email: "ana@example.com".into(),
                role: Role::Patient,
                email_verified: true,
                two_step_verification: false,
                last_sign_in: None,
                created_at: at(1),
            },
            profile: ExportProfile {
                first_name: "Ana".into(),
                last_name: "Silva".into(),
                phone: Some("+351 912 345 678".into()),
                date_of_birth: chrono::NaiveDate::from_ymd_opt(1990, 4, 2),
                gender: Some("Female".into()),
                city: Some("Lisbon".into()),
                timezone: "Europe/Lisbon".into(),
                preferred_language: "pt-PT".into(),
                ..Default::default()
            },
            audit_trail: vec![
                audit(1, "consultation.viewed", "doctor", completed.id, "consultation"),
                audit(2, "prescription.downloaded", "you", v2.id, "prescription"),
                audit(3, "consultation.access_denied", "patient", completed.id, "consultation"),
                audit(4, "profile.updated", "you", patient_id, "profile"),
            ],
            consultations: vec![completed, upcoming, cancelled],
            prescriptions: vec![v1, v2],
            payments: vec![],
            reviews: vec![],
            sessions: vec![],
            not_included: vec![],
        }
    }

    fn of_type<'a>(bundle: &'a Value, kind: &str) -> Vec<&'a Value> {
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .filter(|r| r["resourceType"] == kind)
            .collect()
    }

    /// Every `reference` anywhere under `value`.
    fn references(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("reference", Value::String(s)) => out.push(s.clone()),
                        _ => references(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| references(v, out)),
            _ => {}
        }
    }

    #[test]
    fn statuses_map_to_fhir_r4() {
        let pairs = [
            ("pending_payment", "pending"),
            ("scheduled", "booked"),
            ("in_progress", "arrived"),
            ("completed", "fulfilled"),
            ("cancelled", "cancelled"),
            ("no_show", "noshow"),
        ];
        for (ours, fhir) in pairs {
            assert_eq!(appointment_status(ours), fhir, "{ours}");
        }
        // Every status of the vocabulary has a mapping of its own.
        for status in crate::domain::ConsultationStatus::ALL {
            assert_ne!(appointment_status(status.as_str()), "entered-in-error", "{status}");
        }
        assert_eq!(encounter_status("in_progress"), Some("in-progress"));
        assert_eq!(encounter_status("completed"), Some("finished"));
        assert_eq!(encounter_status("scheduled"), None);
        assert_eq!(encounter_status("no_show"), None);
    }

    #[test]
    fn the_bundle_holds_one_resource_of_each_kind_per_record() {
        let export = sample();
        let bundle = bundle(&export);
        assert_eq!(bundle["resourceType"], "Bundle");
        assert_eq!(bundle["type"], "collection");
        assert_eq!(of_type(&bundle, "Patient").len(), 1);
        // Two doctors seen (Hart twice).
        assert_eq!(of_type(&bundle, "Practitioner").len(), 2);
        assert_eq!(of_type(&bundle, "Appointment").len(), 3);
        // Only the visit that started has an Encounter.
        let encounters = of_type(&bundle, "Encounter");
        assert_eq!(encounters.len(), 1);
        assert_eq!(encounters[0]["status"], "finished");
        assert_eq!(encounters[0]["appointment"][0]["reference"], urn(export.consultations[0].id));
        // Two medications in version 1, one in version 2.
        let requests = of_type(&bundle, "MedicationRequest");
        assert_eq!(requests.len(), 3);
        let statuses: Vec<&str> = requests.iter().map(|r| r["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["stopped", "stopped", "active"]);
        assert!(requests.iter().all(|r| r["intent"] == "order"));
        assert_eq!(requests[0]["dosageInstruction"][0]["text"], summary(&medication("Amoxicillin")));
        assert_eq!(requests[0]["encounter"]["reference"], urn(encounter_id(export.consultations[0].id)));
        assert_eq!(requests[0]["requester"]["reference"], urn(export.consultations[0].doctor.id));
        assert_eq!(of_type(&bundle, "AuditEvent").len(), 4);
        let statuses: Vec<&str> =
            of_type(&bundle, "Appointment").iter().map(|a| a["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["fulfilled", "booked", "cancelled"]);
    }

    #[test]
    fn every_reference_points_at_an_entry_and_full_urls_are_unique() {
        let bundle = bundle(&sample());
        let entries = bundle["entry"].as_array().unwrap();
        let urls: Vec<&str> = entries.iter().map(|e| e["fullUrl"].as_str().unwrap()).collect();
        let unique: std::collections::BTreeSet<&str> = urls.iter().copied().collect();
        assert_eq!(unique.len(), urls.len(), "{urls:?}");
        for e in entries {
            let url = e["fullUrl"].as_str().unwrap();
            assert!(url.starts_with("urn:uuid:"), "{url}");
            assert_eq!(url, format!("urn:uuid:{}", e["resource"]["id"].as_str().unwrap()));
        }
        let mut refs = Vec::new();
        references(&bundle, &mut refs);
        assert!(refs.len() > 10, "{refs:?}");
        for r in refs {
            assert!(unique.contains(r.as_str()), "dangling reference {r}");
        }
        // FHIR JSON never carries null.
        assert!(!bundle.to_string().contains("null"));
    }

    #[test]
    fn derived_ids_are_stable_distinct_and_version_8() {
        let p = Uuid::from_u128(7);
        assert_eq!(medication_request_id(p, 0), medication_request_id(p, 0));
        assert_ne!(medication_request_id(p, 0), medication_request_id(p, 1));
        assert_ne!(medication_request_id(p, 0), encounter_id(p));
        assert_eq!(encounter_id(p).get_version_num(), 8);
        assert_eq!(encounter_id(p).get_variant(), uuid::Variant::RFC4122);
    }

    #[test]
    fn the_patient_and_the_audit_events_say_who() {
        let export = sample();
        let bundle = bundle(&export);
        let patient = of_type(&bundle, "Patient")[0];
        assert_eq!(patient["name"][0]["family"], "Silva");
        assert_eq!(patient["gender"], "female");
        assert_eq!(patient["birthDate"], "1990-04-02");
        assert_eq!(patient["address"][0]["city"], "Lisbon");
        assert_eq!(patient["telecom"][0]["value"], "ana@example.com");
        let events = of_type(&bundle, "AuditEvent");
        // The doctor's view: the Practitioner, reading, the Appointment.
        assert_eq!(events[0]["agent"][0]["who"]["reference"], urn(export.consultations[0].doctor.id));
        assert_eq!(events[0]["action"], "R");
        assert_eq!(events[0]["entity"][0]["what"]["reference"], urn(export.consultations[0].id));
        assert!(events[0]["agent"][0].get("network").is_none());
        // The patient's own download, from their address.
        assert_eq!(events[1]["agent"][0]["who"]["reference"], urn(export.account.id));
        assert_eq!(events[1]["agent"][0]["network"]["address"], "203.0.113.9");
        assert_eq!(events[1]["entity"][0]["what"]["identifier"]["value"], urn(export.prescriptions[1].id));
        // A stranger refused: no reference to anyone outside the Bundle.
        assert_eq!(events[2]["outcome"], "4");
        assert_eq!(events[2]["agent"][0]["who"]["display"], "Another patient");
        assert_eq!(events[3]["action"], "U");
    }

    #[test]
    fn free_text_genders_map_to_administrative_gender() {
        assert_eq!(administrative_gender(" Male "), "male");
        assert_eq!(administrative_gender("woman"), "female");
        assert_eq!(administrative_gender("non-binary"), "other");
        assert_eq!(administrative_gender(""), "unknown");
    }
}
