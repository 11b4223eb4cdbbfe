//! A CIM-XML indication listener on loopback, and CreateInstance in root/interop: what a
//! test needs to subscribe to a service's indications and hear them.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use cim::xml::{
    read_instance, read_message, write_export_response, IReturnValue, Instance, Limits, Message,
    ParamValue, PropertyValue, Reply, Request,
};
use cim::{CimValue, ObjectPath};

use super::ADMIN_PASSWORD;

/// What the listener heard: (SequenceNumber, job, JobState before, JobState after).
pub type Heard = Arc<Mutex<Vec<(i64, String, u64, u64)>>>;

fn embedded(indication: &Instance, name: &str) -> Option<Instance> {
    match indication.value(name)? {
        PropertyValue::Instance(i) => Some((**i).clone()),
        PropertyValue::Cim(CimValue::String(text)) => read_instance(text, &Limits::DEFAULT).ok(),
        _ => None,
    }
}

fn number(instance: &Instance, name: &str) -> Option<i64> {
    match instance.value(name)?.as_cim()? {
        CimValue::SInt64(n) => Some(*n),
        CimValue::UInt16(n) => Some(i64::from(*n)),
        _ => None,
    }
}

/// Starts a listener recording what it hears in `heard`; its URL.
pub async fn listen(heard: Heard) -> String {
    async fn export(State(heard): State<Heard>, body: Bytes) -> String {
        let Ok(Message::ExportRequest(request)) = read_message(&body, &Limits::DEFAULT) else {
            panic!("not an export request");
        };
        let indication = request.indication().expect("an indication").clone();
        let source = embedded(&indication, "SourceInstance").expect("SourceInstance");
        let previous = embedded(&indication, "PreviousInstance").expect("PreviousInstance");
        let job = match source.value("InstanceID").and_then(PropertyValue::as_cim) {
            Some(CimValue::String(id)) => id.clone(),
            other => panic!("InstanceID is {other:?}"),
        };
        heard.lock().unwrap().push((
            number(&indication, "SequenceNumber").expect("SequenceNumber"),
            job,
            number(&previous, "JobState").unwrap_or(0) as u64,
            number(&source, "JobState").unwrap_or(0) as u64,
        ));
        write_export_response(&request.ok_response())
    }
    let app = axum::Router::new()
        .route("/", axum::routing::post(export))
        .with_state(heard);
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await });
    url
}

/// CreateInstance of `instance` in root/interop; the new instance's path.
pub async fn create(http: &reqwest::Client, url: &str, instance: Instance) -> ObjectPath {
    let request = Request::intrinsic(
        "1",
        "root/interop",
        "CreateInstance",
        vec![(
            "NewInstance".into(),
            ParamValue::Instance(Box::new(instance)),
        )],
    );
    let mut post = http
        .post(format!("{url}/cimom"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .body(cim::xml::write_request(&request));
    for (name, value) in cim::xml::request_headers(&request) {
        post = post.header(name, value);
    }
    let body = post.send().await.unwrap().bytes().await.unwrap();
    match read_message(&body, &Limits::DEFAULT) {
        Ok(Message::Response(response)) => match response.reply {
            Reply::Intrinsic {
                result: Ok(result), ..
            } => match result.value {
                Some(IReturnValue::InstanceNames(mut names)) => {
                    let mut path = names.remove(0);
                    path.namespace = Some("root/interop".into());
                    path
                }
                other => panic!("CreateInstance answered {other:?}"),
            },
            other => panic!("CreateInstance failed: {other:?}"),
        },
        other => panic!("not a response: {other:?}"),
    }
}
