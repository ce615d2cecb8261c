/** core/v1 Event: the involvedObject/reason/source/type field selectors of GetAttrs and the printer's columns. */
import type { Event } from '../api/index.ts';
import { required, validateObjectMeta } from '../api/index.ts';
import { defineKind } from './strategy.ts';
import { fields, mergeTop, topLevel } from './schema.ts';
import { humanDuration } from './table.ts';

export const event = defineKind<Event>({
  info: { group: '', version: 'v1', resource: 'events', singular: 'event', kind: 'Event', listKind: 'EventList', namespaced: true, shortNames: ['ev'], categories: [], subresources: [], hasStatus: false },
  fields: topLevel(fields('involvedObject reason message source firstTimestamp lastTimestamp count type eventTime series action related reportingComponent reportingInstance')),
  merge: mergeTop(),
  validate(e) {
    const errs = validateObjectMeta(e.metadata, true, 'dns1123-subdomain');
    if (!e.involvedObject || typeof e.involvedObject !== 'object') errs.push(required('involvedObject'));
    return errs;
  },
  fieldSelectors: {
    'involvedObject.kind': (e) => e.involvedObject?.kind ?? '',
    'involvedObject.namespace': (e) => e.involvedObject?.namespace ?? '',
    'involvedObject.name': (e) => e.involvedObject?.name ?? '',
    'involvedObject.uid': (e) => e.involvedObject?.uid ?? '',
    'involvedObject.apiVersion': (e) => e.involvedObject?.apiVersion ?? '',
    'involvedObject.resourceVersion': (e) => e.involvedObject?.resourceVersion ?? '',
    'involvedObject.fieldPath': (e) => e.involvedObject?.fieldPath ?? '',
    reason: (e) => e.reason ?? '',
    reportingComponent: (e) => e.reportingComponent ?? '',
    source: (e) => e.source?.component ?? '',
    type: (e) => e.type ?? '',
  },
  table: {
    columns: [['Last Seen', 'string', 0, 'Time when last event occurred'], ['Type', 'string', 0, 'Type of this event (Normal, Warning), new types could be added in the future.'], ['Reason', 'string', 0, 'Reason is why the action was taken. It is human-readable.'],
      ['Object', 'string', 0, 'Object this event is about.'], ['Subobject', 'string', 1, 'Subobject this event is about.'], ['Source', 'string', 1, 'Source of the event.'], ['Message', 'string', 0, 'Message is a human-readable description of the status of this operation.'],
      ['First Seen', 'string', 1, 'Time when first event occurred'], ['Count', 'string', 1, 'Number of times this event has occurred.'], ['Name', 'string', 1, 'Name of the event.']],
    cells(e, now) {
      const last = e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
      const first = e.firstTimestamp ?? e.metadata.creationTimestamp;
      const io = e.involvedObject ?? {};
      return [last ? humanDuration(now.getTime() - Date.parse(last)) : '<unknown>', e.type ?? '', e.reason ?? '', `${(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`, io.fieldPath ?? '',
        e.source?.component ?? e.reportingComponent ?? '', e.message ?? '', first ? humanDuration(now.getTime() - Date.parse(first)) : '<unknown>', String(e.count ?? 1), e.metadata.name ?? ''];
    },
  },
});
