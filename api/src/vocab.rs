//! The API's closed vocabularies, mirroring the domain's stored ones.

use domain::entities;
use poem_openapi::Enum;

/// Declares an API enum with the same variants as a domain enum, and conversions both ways.
macro_rules! mirror {
    ($(#[$meta:meta])* $name:ident => $domain:path { $($(#[$variant_meta:meta])* $variant:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
        #[oai(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)*
        }

        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                match value {
                    $(<$domain>::$variant => $name::$variant,)*
                }
            }
        }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => <$domain>::$variant,)*
                }
            }
        }
    };
}

mirror!(
    /// How a purchase was procured.
    ProcurementMethod => entities::ProcurementMethod {
        /// Open tender (открытый конкурс).
        OpenTender,
        /// Auction.
        Auction,
        /// Request for price quotations (запрос ценовых предложений).
        PriceQuotation,
        /// Single source, without competition (из одного источника).
        SingleSource,
        /// Through a commodity exchange.
        CommodityExchange,
        /// Tender with prequalification.
        PrequalifiedTender,
        /// Any other method.
        Other,
    }
);

mirror!(
    /// Where a tender (or a lot) stands.
    TenderStatus => entities::TenderStatus {
        /// Announced; bids are being accepted.
        Published,
        /// Bids are closed and being evaluated.
        Evaluation,
        /// A winner was chosen.
        Awarded,
        /// No valid bids: the tender did not take place.
        Failed,
        /// Cancelled by the buyer.
        Cancelled,
    }
);

mirror!(
    /// Where a contract stands.
    ContractStatus => entities::ContractStatus {
        /// Signed, not yet being executed.
        Signed,
        /// Being executed: deliveries and payments under way.
        InExecution,
        /// Fully executed.
        Executed,
        /// Terminated before full execution.
        Terminated,
    }
);

mirror!(
    /// The kind of act a body adopted.
    DecisionKind => entities::DecisionKind {
        /// An order of a minister or head of a body (бұйрық / приказ).
        Order,
        /// A resolution of an akimat or the government (қаулы / постановление).
        Resolution,
        /// A decision of a quasi-public entity's board of directors.
        BoardDecision,
    }
);

/// The stored text of a domain enum value, for filters.
pub fn stored<T: sea_orm::ActiveEnum<Value = String>>(value: T) -> String {
    value.to_value()
}

mirror!(
    /// Where an import run stands.
    ImportRunStatus => entities::ImportRunStatus {
        /// Reading now, or stopped without finishing (the next run of the same source and
        /// scope resumes it from its checkpoint).
        Running,
        /// Finished; rejected records, if any, are among its rejects.
        Succeeded,
        /// Stopped by a fatal error (see `error`); the next run of the same scope resumes it.
        Failed,
    }
);
