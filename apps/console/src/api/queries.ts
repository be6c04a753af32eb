/** Every GraphQL operation the console sends, in one place. */

export const ME = `{ me { tokenId name role } }`;

export const OVERVIEW = `{
  activeRuleSet { version checksum comment publishedBy publishedAt document }
  instances { id host pid parts ruleSetVersion checksum lastSeen }
  statusCounts { status count }
  unmappedTotals { values records }
}`;

export const RECONCILE = `query($system: String) { lastReconcileReport(system: $system) { system finishedAt agreed legacyRows viewRecords missing gone differs unmappable } }`;

export const ACTIVE_RULE_SET = `{ activeRuleSet { version checksum document } }`;

export const VERSION = `query($v: Int!) { ruleSetVersion(version: $v) { version state checksum comment document } }`;

export const VALIDATE = `query($d: String!) { validateRuleSet(document: $d) { path message severity } }`;

export const CREATE_DRAFT = `mutation($d: String!, $c: String) { createRuleSetDraft(document: $d, comment: $c) { version state checksum } }`;

export const UPDATE_DRAFT = `mutation($v: Int!, $d: String!, $c: String, $e: String) { updateRuleSetDraft(version: $v, document: $d, comment: $c, expectedChecksum: $e) { version state checksum } }`;

export const PREVIEW = `mutation($v: Int!) { previewRuleSetDraft(version: $v, sampleSize: 20) { version activeVersion customers moving cells { from to count sample } } }`;

export const PUBLISH = `mutation($v: Int!, $c: String!, $e: String) { publishRuleSet(version: $v, comment: $c, expectedChecksum: $e) { fromVersion toVersion reprojection { id state processed total changed } } }`;

export const ROLLBACK = `mutation($v: Int!, $c: String!) { rollbackRuleSet(version: $v, comment: $c) { fromVersion toVersion reprojection { id state processed total changed } } }`;

export const REPROJECTION = `query($id: ID) { reprojection(id: $id) { id version state processed total changed error } }`;

export const VERSIONS = `{ ruleSetVersions { version state checksum comment createdBy createdAt publishedAt publishedBy } ruleSetAudit(first: 100) { action fromVersion toVersion actor comment at } }`;

export const DIFF = `query($from: Int!, $to: Int!) { ruleSetDiff(from: $from, to: $to) {
  from to empty statusesAdded statusesRemoved statusesReordered examplesBefore examplesAfter examplesChanged lines
  tables { table change hitPolicyBefore hitPolicyAfter hitPolicyChanged unmappedInputChanged
    inputs { name change typeBefore typeAfter allowedAdded allowedRemoved }
    rows { id change beforeIndex afterIndex cells { column before after } } }
} }`;

/** How many unmapped values the console lists: the most frequent (the API's default is 100). */
export const UNMAPPED_SHOWN = 200;
export const UNMAPPED = `{ unmappedValues(first: ${UNMAPPED_SHOWN}) { system field value count lastSeen } }`;

const CUSTOMER_FIELDS = `id status reason statusSince updatedAt
  sources { system recordKey status rule raw sourceTimestamp }
  explanation { ruleSetVersion sources { system recordKey status rule description inputs { field value } } resolution { rule description status } }
  history(first: 50) { from to reason at ruleSetVersion }`;

export const CUSTOMER = `query($id: ID!) { customer(id: $id) { ${CUSTOMER_FIELDS} } }`;

export const CUSTOMER_CHANGED = `subscription($ids: [ID!]) { customerStatusChanged(ids: $ids) { customerId from to reason at removed } }`;

export const PREVIEW_VERSION = `query($v: Int!) { ruleSetPreview(version: $v, sampleSize: 5) { version activeVersion customers moving cells { from to count sample } } }`;

const EXPLANATION_FIELDS = `ruleSetVersion sources { system recordKey status rule description inputs { field value } } resolution { rule description status }`;

/** A customer today and under another stored version (a draft), side by side. */
export const CUSTOMER_UNDER = `query($id: ID!, $v: Int!) { customer(id: $id) { id status reason statusSince updatedAt sources { system recordKey status rule raw }
  today: explanation { ${EXPLANATION_FIELDS} } draft: explanation(version: $v) { ${EXPLANATION_FIELDS} } } }`;
