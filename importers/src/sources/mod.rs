//! One module per upstream source. Each maps the upstream's own format to domain records and
//! says, for every record it cannot map, why.

pub mod csv_files;
pub mod egov;
pub mod goszakup;
pub mod ocds;
pub mod samruk;
