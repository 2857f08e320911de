//! Scrutiny findings: the Public Control workflow from filing to answer, and the working-day
//! calendar its deadlines count on.

pub mod calendar;
