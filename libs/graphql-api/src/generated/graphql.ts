
/*
 * -------------------------------------------------------
 * THIS FILE WAS AUTOMATICALLY GENERATED (DO NOT MODIFY)
 * -------------------------------------------------------
 */

/* tslint:disable */
/* eslint-disable */

/* Generated from schema/*.graphql by `npm run graphql:types`; do not edit. */

export interface IQuery {
    customer(id: string): Nullable<Customer> | Promise<Nullable<Customer>>;
    customers(ids: string[]): Nullable<Customer>[] | Promise<Nullable<Customer>[]>;
    customersByStatus(status: string, first?: Nullable<number>, after?: Nullable<string>): CustomerConnection | Promise<CustomerConnection>;
    statusCounts(): StatusCount[] | Promise<StatusCount[]>;
    unmappedValues(): UnmappedValue[] | Promise<UnmappedValue[]>;
}

export interface Customer {
    id: string;
    status: string;
    reason: string;
    statusSince: string;
    updatedAt: string;
    sources: SourceStatus[];
    history?: StatusChange[];
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

export interface StatusChange {
    from?: Nullable<string>;
    to: string;
    reason: string;
    at: string;
}

export interface StatusCount {
    status: string;
    count: number;
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
