import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';

@ObjectType('LogCheckpoint', {
  description:
    'The newest signed checkpoint of the transparency log over every history event: a C2SP tlog-checkpoint (origin, tree size, ' +
    'base64 RFC 9162 root hash) signed as a C2SP signed note with the platform log key (GET /.well-known/log-key).',
})
export class LogCheckpointType {
  @Field(() => String, { description: 'The log identity (first line of the note; also the key name).' }) origin!: string;
  @Field(() => Int, { description: 'Leaves (history events) in the tree.' }) treeSize!: number;
  @Field(() => String, { description: 'Root hash of the tree, standard base64.' }) rootHash!: string;
  @Field(() => String, { description: 'The signed note exactly as GET /log/checkpoint serves it.' }) note!: string;
  @Field(() => String, { description: 'The verifier key: <name>+<key ID>+<base64(0x01 || Ed25519 public key)>.' }) verifierKey!: string;
  @Field(() => Date) createdAt!: Date;
}

@ObjectType('InclusionProof', { description: 'RFC 9162 inclusion proof of one history event: its leaf is SHA-256(0x00 || event hash bytes).' })
export class InclusionProofType {
  @Field(() => Int) leafIndex!: number;
  @Field(() => Int) treeSize!: number;
  @Field(() => String, { description: 'SHA-256(0x00 || the 32 bytes of the event hash), base64.' }) leafHash!: string;
  @Field(() => [String], { description: 'The audit path, leaf side first, base64.' }) hashes!: string[];
}

export enum LogInclusionStatus {
  INCLUDED = 'INCLUDED',
  PENDING = 'PENDING',
  NOT_INCLUDED = 'NOT_INCLUDED',
}
registerEnumType(LogInclusionStatus, {
  name: 'LogInclusionStatus',
  description: 'INCLUDED: proven under the newest checkpoint; PENDING: recorded after it; NOT_INCLUDED: should be in it and is not as stored.',
});

@ObjectType('EventLogStatus', { description: 'Whether one history event is in the transparency log under the newest checkpoint.' })
export class EventLogStatusType {
  @Field(() => String) eventId!: string;
  @Field(() => Int) seq!: number;
  @Field(() => Int, { nullable: true }) leafIndex?: number | null;
  @Field(() => LogInclusionStatus) status!: LogInclusionStatus;
}
