import { GraphQLJSON } from 'graphql-scalars';
import { Arg, Ctx, Field, ID, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { Access, ANY_ORG } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import type { IAuditLog } from './audit-log.entity.js';
import { auditService } from './audit.service.js';

@ObjectType('AuditEntry', { description: 'One audited action, such as an authority reading restricted passport data.' })
export class AuditEntry {
  @Field(() => ID) id!: string;
  @Field(() => ID) organizationId!: string;
  @Field(() => ID, { nullable: true }) apiKeyId?: string | null;
  @Field(() => String) action!: string;
  @Field(() => ID, { nullable: true }) passportId?: string | null;
  @Field(() => GraphQLJSON) details!: Record<string, unknown>;
  @Field(() => Date) createdAt!: Date;

  static from(a: IAuditLog): AuditEntry {
    return Object.assign(new AuditEntry(), {
      id: a.id,
      organizationId: a.organization.id,
      apiKeyId: a.apiKeyId ?? null,
      action: a.action,
      passportId: a.passportId ?? null,
      details: a.details,
      createdAt: a.createdAt,
    });
  }
}

@ObjectType()
export class AuditPage {
  @Field(() => [AuditEntry]) entries!: AuditEntry[];
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => String, { nullable: true, description: 'Pass as `after` for the next page.' }) endCursor?: string | null;
}

@Resolver()
export class AuditResolver {
  @Access(ANY_ORG)
  @Query(() => AuditPage, { description: 'Audit trail, oldest first: the platform sees all, a brand the reads of its units, others their own.' })
  async auditLog(
    @Ctx() ctx: Context,
    @Arg('passportId', () => ID, { nullable: true }) passportId: string | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ): Promise<AuditPage> {
    const page = await auditService.list(ctx.em, ctx.viewer, passportId, first ?? 100, after);
    const entries = page.items.map(AuditEntry.from);
    return Object.assign(new AuditPage(), { entries, hasNextPage: page.hasNextPage, endCursor: entries.at(-1)?.id ?? null });
  }
}
