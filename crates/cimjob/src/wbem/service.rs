//! [`Wbem`]: what every CIM operation of this server works with — the engine, who we are,
//! the subscriptions, the open pull enumerations — and the checks they share.

use std::sync::Arc;

use cim::xml::CimError;
use cim::{CimStatusCode, ObjectPath};
use cimjob_engine::EngineHandle;

use super::objects::{Catalog, Identity};
use super::operation::{engine_error, error};
use super::pull::Pulls;
use crate::auth::Principal;
use crate::indications::Indications;

/// The WBEM server's state: the engine, who we are, and the open enumerations.
pub struct Wbem {
    /// The bounds every request body is read within.
    pub limits: cim::xml::Limits,
    /// Where every job change goes.
    pub engine: EngineHandle,
    /// The host and the keys of our fixed objects.
    pub identity: Identity,
    /// The subscriptions and their delivery queues.
    pub indications: Arc<Indications>,
    /// The open pull enumerations.
    pub pulls: Pulls,
}

impl Wbem {
    /// A server over the engine.
    pub fn new(
        engine: EngineHandle,
        limits: cim::xml::Limits,
        indications: Arc<Indications>,
    ) -> Wbem {
        let identity = Identity::local();
        Wbem {
            limits,
            engine,
            pulls: Pulls::new(&identity.host),
            identity,
            indications,
        }
    }

    /// Everything `principal` may list and get, as of now.
    pub fn catalog(&self, principal: &Principal) -> Catalog {
        Catalog::new(
            self.identity.clone(),
            self.engine.clone(),
            self.indications.registry().clone(),
            principal.sees_only(),
        )
    }

    /// Refuses a change of a job its requester does not own, unless an admin asks: as
    /// CIM_ERR_NOT_FOUND when the requester may not even see it (another user's job), else
    /// CIM_ERR_ACCESS_DENIED.
    pub async fn authorize(&self, principal: &Principal, id: u64) -> Result<(), CimError> {
        let job = self.engine.get(id).await.map_err(engine_error)?;
        if !principal.may_see(&job.owner) {
            return Err(engine_error(cimjob_engine::EngineError::NotFound(
                cimjob_rules::core::NotFound(id),
            )));
        }
        if principal.may_control(&job.owner) {
            Ok(())
        } else {
            Err(error(
                CimStatusCode::AccessDenied,
                principal.refusal(&job.instance_id(), &job.owner),
            ))
        }
    }

    /// A path as INSTANCEPATH carries it: with our host and its namespace.
    pub fn full_path(&self, mut path: ObjectPath) -> ObjectPath {
        path.host = Some(self.identity.host.clone());
        path
    }
}
