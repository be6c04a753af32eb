
/*
 * -------------------------------------------------------
 * THIS FILE WAS AUTOMATICALLY GENERATED (DO NOT MODIFY)
 * -------------------------------------------------------
 */

/* tslint:disable */
/* eslint-disable */

/* Generated from schema/*.graphql by `npm run graphql:types`; do not edit. */

export enum DiffChange {
    ADDED = "ADDED",
    REMOVED = "REMOVED",
    CHANGED = "CHANGED",
    MOVED = "MOVED"
}

export enum RuleSetState {
    DRAFT = "DRAFT",
    ACTIVE = "ACTIVE",
    RETIRED = "RETIRED"
}

export enum Severity {
    ERROR = "ERROR",
    WARNING = "WARNING"
}

export enum ReprojectionState {
    RUNNING = "RUNNING",
    DONE = "DONE",
    FAILED = "FAILED",
    SUPERSEDED = "SUPERSEDED"
}

export enum Role {
    VIEWER = "VIEWER",
    ANALYST = "ANALYST",
    ADMIN = "ADMIN"
}

export interface IQuery {
    me(): Nullable<Me> | Promise<Nullable<Me>>;
    instances(): Instance[] | Promise<Instance[]>;
    ruleSetDiff(from: number, to: number): RuleSetDiff | Promise<RuleSetDiff>;
    lastReconcileReport(system?: Nullable<string>): Nullable<ReconcileReport> | Promise<Nullable<ReconcileReport>>;
    ruleSetVersions(): RuleSetVersion[] | Promise<RuleSetVersion[]>;
    ruleSetVersion(version: number): Nullable<RuleSetVersion> | Promise<Nullable<RuleSetVersion>>;
    activeRuleSet(): RuleSetVersion | Promise<RuleSetVersion>;
    validateRuleSet(document: string): RuleProblem[] | Promise<RuleProblem[]>;
    ruleSetProblems(version: number): RuleProblem[] | Promise<RuleProblem[]>;
    ruleSetPreview(version: number, sampleSize?: Nullable<number>): ImpactPreview | Promise<ImpactPreview>;
    reprojection(id?: Nullable<string>): Nullable<Reprojection> | Promise<Nullable<Reprojection>>;
    ruleSetAudit(first?: Nullable<number>): RuleSetAuditEntry[] | Promise<RuleSetAuditEntry[]>;
    apiTokens(): ApiToken[] | Promise<ApiToken[]>;
    customer(id: string): Nullable<Customer> | Promise<Nullable<Customer>>;
    customers(ids: string[]): Nullable<Customer>[] | Promise<Nullable<Customer>[]>;
    customersByStatus(status: string, first?: Nullable<number>, after?: Nullable<string>): CustomerConnection | Promise<CustomerConnection>;
    statusCounts(): StatusCount[] | Promise<StatusCount[]>;
    unmappedValues(first?: Nullable<number>): UnmappedValue[] | Promise<UnmappedValue[]>;
    unmappedTotals(): UnmappedTotals | Promise<UnmappedTotals>;
}

export interface Me {
    tokenId: string;
    name: string;
    role: Role;
}

export interface Instance {
    id: string;
    host: string;
    pid: number;
    parts: string[];
    ruleSetVersion: number;
    checksum: string;
    startedAt: string;
    lastSeen: string;
}

export interface RuleSetDiff {
    from: number;
    to: number;
    empty: boolean;
    statusesAdded: string[];
    statusesRemoved: string[];
    statusesReordered: boolean;
    tables: TableDiff[];
    examplesBefore: number;
    examplesAfter: number;
    examplesChanged: boolean;
    lines: string[];
}

export interface TableDiff {
    table: string;
    change: DiffChange;
    hitPolicyBefore?: Nullable<string>;
    hitPolicyAfter?: Nullable<string>;
    hitPolicyChanged: boolean;
    unmappedInputChanged: boolean;
    inputs: InputDiff[];
    rows: RowDiff[];
}

export interface InputDiff {
    name: string;
    change: DiffChange;
    typeBefore?: Nullable<string>;
    typeAfter?: Nullable<string>;
    allowedAdded: string[];
    allowedRemoved: string[];
}

export interface RowDiff {
    id: string;
    change: DiffChange;
    beforeIndex?: Nullable<number>;
    afterIndex?: Nullable<number>;
    cells: CellDiff[];
}

export interface CellDiff {
    column: string;
    before?: Nullable<string>;
    after?: Nullable<string>;
}

export interface ReconcileReport {
    system: string;
    startedAt: string;
    finishedAt: string;
    position: string;
    agreed: boolean;
    legacyRows: number;
    viewRecords: number;
    missing: number;
    gone: number;
    differs: number;
    unmappable: number;
    inFlight: number;
    repaired?: Nullable<number>;
    differences?: ReconcileDifference[];
}

export interface ReconcileDifference {
    kind: string;
    recordKey: string;
    customerId?: Nullable<string>;
    legacyStatus?: Nullable<string>;
    viewStatus?: Nullable<string>;
    detail: string;
}

export interface IMutation {
    createRuleSetDraft(document: string, comment?: Nullable<string>): RuleSetVersion | Promise<RuleSetVersion>;
    updateRuleSetDraft(version: number, document: string, comment?: Nullable<string>, expectedChecksum?: Nullable<string>): RuleSetVersion | Promise<RuleSetVersion>;
    validateRuleSetDraft(version: number): RuleProblem[] | Promise<RuleProblem[]>;
    previewRuleSetDraft(version: number, sampleSize?: Nullable<number>): ImpactPreview | Promise<ImpactPreview>;
    publishRuleSet(version: number, comment: string, expectedChecksum?: Nullable<string>): PublishResult | Promise<PublishResult>;
    rollbackRuleSet(version: number, comment: string): PublishResult | Promise<PublishResult>;
    createApiToken(name: string, role: Role): CreatedApiToken | Promise<CreatedApiToken>;
    revokeApiToken(id: string): boolean | Promise<boolean>;
}

export interface Customer {
    explanation?: Explanation;
    id: string;
    status: string;
    reason: string;
    statusSince: string;
    updatedAt: string;
    sources: SourceStatus[];
    history?: StatusChange[];
    historyTrimmedUntil?: Nullable<string>;
}

export interface StatusChange {
    ruleSetVersion?: Nullable<number>;
    customerId: string;
    from?: Nullable<string>;
    to: string;
    reason: string;
    at: string;
    customerVersion?: Nullable<number>;
    removed: boolean;
}

export interface Explanation {
    ruleSetVersion: number;
    sources: SourceExplanation[];
    resolution: ResolutionExplanation;
}

export interface SourceExplanation {
    system: string;
    recordKey: string;
    status: string;
    rule: string;
    description: string;
    inputs: InputValue[];
}

export interface InputValue {
    field: string;
    value: string;
}

export interface ResolutionExplanation {
    rule: string;
    description: string;
    status: string;
}

export interface RuleSetVersion {
    version: number;
    state: RuleSetState;
    checksum: string;
    comment: string;
    createdBy: string;
    createdAt: string;
    updatedAt: string;
    publishedAt?: Nullable<string>;
    publishedBy?: Nullable<string>;
    document: string;
}

export interface RuleProblem {
    path: string;
    message: string;
    severity: Severity;
}

export interface ImpactPreview {
    version: number;
    activeVersion: number;
    customers: number;
    moving: number;
    cells: ImpactCell[];
}

export interface ImpactCell {
    from: string;
    to: string;
    count: number;
    sample: string[];
}

export interface PublishResult {
    fromVersion: number;
    toVersion: number;
    reprojection: Reprojection;
}

export interface Reprojection {
    id: string;
    version: number;
    state: ReprojectionState;
    processed: number;
    total: number;
    changed: number;
    startedAt: string;
    finishedAt?: Nullable<string>;
    error?: Nullable<string>;
}

export interface RuleSetAuditEntry {
    action: string;
    fromVersion?: Nullable<number>;
    toVersion: number;
    actor: string;
    comment: string;
    at: string;
}

export interface ApiToken {
    id: string;
    name: string;
    role: Role;
    createdBy: string;
    createdAt: string;
    revokedAt?: Nullable<string>;
}

export interface CreatedApiToken {
    token: string;
    apiToken: ApiToken;
}

export interface ISubscription {
    customerStatusChanged(ids?: Nullable<string[]>, statuses?: Nullable<string[]>): Nullable<StatusChange> | Promise<Nullable<StatusChange>>;
}

export interface SourceStatus {
    system: string;
    recordKey: string;
    status: string;
    rule: string;
    raw: string;
    sourceTimestamp?: Nullable<string>;
    position?: Nullable<string>;
}

export interface StatusCount {
    status: string;
    count: number;
}

export interface UnmappedTotals {
    values: number;
    records: number;
}

export interface UnmappedValue {
    system: string;
    field: string;
    value: string;
    count: number;
    lastSeen: string;
}

export interface CustomerConnection {
    edges: CustomerEdge[];
    pageInfo: PageInfo;
    totalCount: number;
}

export interface CustomerEdge {
    cursor: string;
    node: Customer;
}

export interface PageInfo {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor?: Nullable<string>;
    endCursor?: Nullable<string>;
}

type Nullable<T> = T | null;
