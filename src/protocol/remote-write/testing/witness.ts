/**
 * The codec tests' independent witness: protobufjs' reflection codec built from the spec's .proto (with
 * Prometheus' metadata, field 3, which a receiver skips).
 */
import protobuf from "protobufjs";

export const witnessRoot = protobuf.parse(`
syntax = "proto3";
message WriteRequest { repeated TimeSeries timeseries = 1; reserved 2; repeated MetricMetadata metadata = 3; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
message MetricMetadata { int32 type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
`).root;

export const WitnessWriteRequest = witnessRoot.lookupType("WriteRequest");
