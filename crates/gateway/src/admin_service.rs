//! `baton.admin.v1.Admin`: read-only views the Zeebe protocol has no RPC for (Zeebe serves them
//! from Operate), so that the `baton` CLI can, for instance, find an incident to resolve.

use baton_runtime::Broker;
use tonic::{Request, Response, Status};

use crate::admin;
use crate::admin::admin_server::Admin;
use crate::convert;

#[derive(Clone)]
pub struct AdminService {
    broker: Broker,
}

impl AdminService {
    pub fn new(broker: Broker) -> AdminService {
        AdminService { broker }
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn list_incidents(
        &self,
        request: Request<admin::ListIncidentsRequest>,
    ) -> Result<Response<admin::ListIncidentsResponse>, Status> {
        let instance = request.into_inner().process_instance_key;
        let mut incidents = Vec::new();
        for partition in 1..=self.broker.partition_count() {
            let found = self
                .broker
                .query(partition, move |state| {
                    state
                        .incidents
                        .iter()
                        .filter(|(_, incident)| instance <= 0 || incident.process_instance_key == instance)
                        .map(|(key, incident)| convert::incident(*key, incident))
                        .collect::<Vec<_>>()
                })
                .await
                .map_err(convert::runtime_status)?;
            incidents.extend(found);
        }
        Ok(Response::new(admin::ListIncidentsResponse { incidents }))
    }
}
