//! The dispatch of one CIM-XML request: an intrinsic operation by its name to the one
//! function that answers it, an extrinsic method to [`super::methods`]; then the response,
//! whole or (for EnumerateInstances and EnumerateInstanceNames) rendered while it is sent.

use cim::xml::CimError;
use cim::xml::{write_response, EnumerationWriter, Request, Response};
use cimjob_rules::model::properties::View;
use jiff::Timestamp;

use futures_util::StreamExt;

use super::objects::{Item, Pages, Projection};
use super::operation::{namespace_of, without_namespace, Answer, Call, Params};
use super::service::Wbem;
use super::{associations, class_ops, instance_ops, methods, qualifiers};
use crate::auth::Principal;

/// The intrinsic operations this server answers, each by one function.
#[derive(Clone, Copy, Debug)]
enum Intrinsic {
    GetClass,
    EnumerateClasses,
    GetInstance,
    EnumerateInstances,
    CreateInstance,
    ModifyInstance,
    DeleteInstance,
    ExecQuery,
    Associated,
    OpenEnumerateInstances,
    OpenAssociated,
    OpenQueryInstances,
    Pull,
    CloseEnumeration,
    EnumerationCount,
    GetQualifier,
    EnumerateQualifiers,
    ChangeQualifier,
}

/// Which operation answers each DSP0200 name (several names share one where they differ
/// only in what they return, e.g. EnumerateClasses and EnumerateClassNames).
const OPERATIONS: &[(&str, Intrinsic)] = &[
    ("GetClass", Intrinsic::GetClass),
    ("EnumerateClasses", Intrinsic::EnumerateClasses),
    ("EnumerateClassNames", Intrinsic::EnumerateClasses),
    ("GetInstance", Intrinsic::GetInstance),
    ("EnumerateInstances", Intrinsic::EnumerateInstances),
    ("EnumerateInstanceNames", Intrinsic::EnumerateInstances),
    ("CreateInstance", Intrinsic::CreateInstance),
    ("ModifyInstance", Intrinsic::ModifyInstance),
    ("DeleteInstance", Intrinsic::DeleteInstance),
    ("ExecQuery", Intrinsic::ExecQuery),
    ("Associators", Intrinsic::Associated),
    ("AssociatorNames", Intrinsic::Associated),
    ("References", Intrinsic::Associated),
    ("ReferenceNames", Intrinsic::Associated),
    ("OpenEnumerateInstances", Intrinsic::OpenEnumerateInstances),
    (
        "OpenEnumerateInstancePaths",
        Intrinsic::OpenEnumerateInstances,
    ),
    ("OpenAssociatorInstances", Intrinsic::OpenAssociated),
    ("OpenAssociatorInstancePaths", Intrinsic::OpenAssociated),
    ("OpenReferenceInstances", Intrinsic::OpenAssociated),
    ("OpenReferenceInstancePaths", Intrinsic::OpenAssociated),
    ("OpenQueryInstances", Intrinsic::OpenQueryInstances),
    ("PullInstancesWithPath", Intrinsic::Pull),
    ("PullInstancePaths", Intrinsic::Pull),
    ("PullInstances", Intrinsic::Pull),
    ("CloseEnumeration", Intrinsic::CloseEnumeration),
    ("EnumerationCount", Intrinsic::EnumerationCount),
    ("GetQualifier", Intrinsic::GetQualifier),
    ("EnumerateQualifiers", Intrinsic::EnumerateQualifiers),
    ("SetQualifier", Intrinsic::ChangeQualifier),
    ("DeleteQualifier", Intrinsic::ChangeQualifier),
];

impl Intrinsic {
    /// The operation a canonical name names.
    fn named(name: &str) -> Option<Intrinsic> {
        OPERATIONS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, op)| *op)
    }

    async fn answer(self, w: &Wbem, c: &Call<'_>) -> Result<Answer, CimError> {
        match self {
            Intrinsic::GetClass => class_ops::get_class(c),
            Intrinsic::EnumerateClasses => class_ops::enumerate_classes(c),
            Intrinsic::GetInstance => instance_ops::get_instance(w, c).await,
            Intrinsic::EnumerateInstances => instance_ops::enumerate_instances(w, c).await,
            Intrinsic::CreateInstance => instance_ops::create_instance(w, c).await,
            Intrinsic::ModifyInstance => instance_ops::modify_instance(w, c).await,
            Intrinsic::DeleteInstance => instance_ops::delete_instance(w, c).await,
            Intrinsic::ExecQuery => instance_ops::exec_query(w, c).await,
            Intrinsic::Associated => associations::associated(w, c).await,
            Intrinsic::OpenEnumerateInstances => instance_ops::open_enumerate_instances(w, c).await,
            Intrinsic::OpenAssociated => associations::open_associated(w, c).await,
            Intrinsic::OpenQueryInstances => instance_ops::open_query_instances(w, c).await,
            Intrinsic::Pull => w.pulls.pull(&w.engine, c).await,
            Intrinsic::CloseEnumeration => w.pulls.close(c),
            Intrinsic::EnumerationCount => w.pulls.count(c),
            Intrinsic::GetQualifier => qualifiers::get_qualifier(c),
            Intrinsic::EnumerateQualifiers => qualifiers::enumerate_qualifiers(c),
            Intrinsic::ChangeQualifier => qualifiers::change_qualifier(c),
        }
    }
}

/// Answers one intrinsic call: `name` as the client wrote it (matched as DSP0200 says,
/// ignoring case).
async fn intrinsic(
    w: &Wbem,
    namespace: &str,
    name: &str,
    params: Params<'_>,
    principal: &Principal,
) -> Result<Answer, CimError> {
    let ns = namespace_of(namespace)?;
    let canonical = cim::xml::intrinsic_operation(name).unwrap_or(name);
    let Some(operation) = Intrinsic::named(canonical) else {
        return Err(super::operation::error(
            cim::CimStatusCode::NotSupported,
            format!("operation {canonical} is not supported: this server's classes are fixed and its instances are jobs"),
        ));
    };
    let call = Call {
        ns,
        namespace,
        name: canonical,
        params,
        principal,
        view: w.engine.view(Timestamp::now()),
    };
    operation.answer(w, &call).await
}

/// Answers one request.
pub async fn handle(w: &Wbem, request: &Request, principal: &Principal) -> Answered {
    let id = &request.message_id;
    let response = match &request.call {
        cim::xml::Call::Intrinsic {
            namespace,
            name,
            params,
        } => match intrinsic(w, namespace, name, Params(params), principal).await {
            Ok(Answer::Value(v)) => Response::intrinsic(id, name, v),
            Ok(Answer::Pull {
                value,
                context,
                params,
            }) => {
                let end = context.is_none();
                Response::pull(id, name, value, context.as_deref().unwrap_or(""), end)
                    .with_params(params)
            }
            Ok(Answer::Enumerated {
                names_only,
                first,
                rest,
                projection,
            }) => {
                return Answered::Enumerated(Box::new(Enumerated {
                    writer: EnumerationWriter::new(id, name),
                    names_only,
                    current: first.into_iter(),
                    rest,
                    projection,
                    view: w.engine.view(Timestamp::now()),
                }))
            }
            Err(e) => Response::intrinsic_error(id, name, e),
        },
        cim::xml::Call::Extrinsic {
            target,
            target_is_class,
            method,
            params,
        } => {
            match methods::invoke(
                w,
                principal,
                target,
                *target_is_class,
                method,
                Params(params),
            )
            .await
            {
                Ok((code, out)) => Response::extrinsic(id, method, code, out),
                Err(e) => Response::extrinsic_error(id, method, e),
            }
        }
    };
    Answered::Whole(response)
}

/// The answer to one request: a whole response, or an EnumerateInstances (or
/// EnumerateInstanceNames) answer to render while it is sent, its jobs read a page at a
/// time, so they never sit in memory all at once, nor as one document.
pub enum Answered {
    /// Everything, ready to write.
    Whole(Response),
    /// A successful EnumerateInstances or EnumerateInstanceNames.
    Enumerated(Box<Enumerated>),
}

/// The objects of a successful enumeration still to send, and how to show them.
pub struct Enumerated {
    writer: EnumerationWriter,
    /// Only their names (EnumerateInstanceNames).
    names_only: bool,
    /// The rest of the page read last.
    current: std::vec::IntoIter<Item>,
    /// The pages after it.
    rest: Box<Pages>,
    /// Which of their properties to show.
    projection: Projection,
    /// The moment they are shown at.
    view: View,
}

/// Instances rendered per piece of the body: big enough to keep the writes few, small enough
/// to keep the memory flat.
const PER_PIECE: usize = 256;

impl Enumerated {
    /// The next piece of the body after the head: up to [`PER_PIECE`] objects, reading the
    /// next page when this one is done; `None` once every instance is sent. A page that cannot
    /// be read ends the body broken, so the client sees a failed answer, never a short one.
    async fn next_piece(&mut self) -> Option<Result<String, std::io::Error>> {
        // bounded: each turn renders, or reads the next page, and the pages end
        loop {
            if self.current.len() > 0 {
                let mut piece = String::with_capacity(PER_PIECE * 4096);
                for item in self.current.by_ref().take(PER_PIECE) {
                    let path = without_namespace(item.path());
                    if self.names_only {
                        self.writer.instance_name(&mut piece, &path);
                        continue;
                    }
                    let named = cim::xml::InstanceWithPath::new(
                        path,
                        self.projection.apply(item.instance(&self.view)),
                    );
                    self.writer.instance(&mut piece, &named);
                }
                return Some(Ok(piece));
            }
            match self.rest.next().await? {
                Ok(page) => self.current = page.into_iter(),
                Err(e) => {
                    let error = e.description.unwrap_or_default();
                    tracing::warn!(%error, "an EnumerateInstances answer broke off: the jobs could not be read");
                    return Some(Err(std::io::Error::other(error)));
                }
            }
        }
    }
}

impl Answered {
    /// The HTTP body: a whole response keeps its Content-Length; named instances are
    /// rendered piece by piece as the body is sent.
    pub fn into_body(self) -> axum::body::Body {
        let answer = match self {
            Answered::Whole(response) => return axum::body::Body::from(write_response(&response)),
            Answered::Enumerated(answer) => answer,
        };
        let head = answer.writer.head();
        let tail = answer.writer.tail();
        let body = futures_util::stream::unfold(answer, |mut answer| async move {
            let piece = answer.next_piece().await?;
            Some((piece, answer))
        });
        let pieces = futures_util::stream::once(async move { Ok(head) })
            .chain(body)
            .chain(futures_util::stream::once(async move { Ok(tail) }))
            .map(|piece| piece.map(axum::body::Bytes::from));
        axum::body::Body::from_stream(pieces)
    }
}
