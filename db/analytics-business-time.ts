/**
 * Business time for the analytics fold, in SQL: the same working-hours walk as
 * lib/business-time.ts (which the SLA clocks use), inlined into the fold's statement because
 * the fold computes thousands of tickets' durations at once and the app role may not call
 * functions of its own (db/README.md).
 */

/**
 * A lateral join naming the calendar `alias` (timezone, weekly_hours, holidays; all null for
 * calendar time) that ticket `t` counts business time in: the calendar of its first matching
 * enabled SLA policy (matched as db/sla-clocks.ts matches it), else the organization's default
 * calendar. A ticket with no policy still counts in the organization's working hours when it
 * has any: business time is a property of the organization's week, not of an SLA target.
 */
export function ticketCalendar(alias: string): string {
  return `left join lateral (
    select c.timezone, c.weekly_hours, c.holidays
      from business_calendars c
     where c.org_id = t.org_id
       and c.id = coalesce(
         (select p.business_calendar_id from sla_policies p
           where p.org_id = t.org_id and p.enabled
             and (p.priority is null or p.priority = t.priority)
             and (p.category_id is null or p.category_id = t.category_id)
             and (p.team_id is null or p.team_id = t.team_id)
           order by p.position, p.created_at, p.id limit 1),
         (select o.business_calendar_id from organizations o where o.id = t.org_id))
  ) ${alias} on true`;
}

/**
 * Whole seconds of working time in [from, to) in calendar `cal` (an alias from ticketCalendar);
 * plain seconds when there is no calendar; null when either end is. Each local day from the one
 * holding `from` to the one holding `to` contributes its ranges (weekday keys sun..sat, minutes
 * of the local day), holidays none; a local wall time becomes an instant through the zone, so a
 * day across a DST change is as long as its clock says. One difference from the JS walk: a
 * range edge inside a repeated hour (autumn) is read as the later instant here, the earlier
 * there; calendars rarely start or end a shift between 02:00 and 03:00. Its aliases are prefixed
 * `bt_` so as not to shadow the caller's.
 */
export function businessSeconds(from: string, to: string, cal: string): string {
  return `case when ${from} is null or ${to} is null then null
     when ${cal}.timezone is null then round(extract(epoch from ${to} - ${from}))::int
     when ${to} <= ${from} then 0
     else (select coalesce(round(sum(extract(epoch from least(${to}, bt_iv.e) - greatest(${from}, bt_iv.s)))), 0)::int
             from generate_series((${from} at time zone ${cal}.timezone)::date::timestamp,
                                  (${to} at time zone ${cal}.timezone)::date::timestamp,
                                  interval '1 day') as bt_d(day)
            cross join lateral jsonb_array_elements(case jsonb_typeof(${cal}.weekly_hours) when 'object'
                   then coalesce(${cal}.weekly_hours -> (array['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'])
                                  [extract(dow from bt_d.day)::int + 1], '[]'::jsonb)
                   else '[]'::jsonb end) as bt_r(range)
            cross join lateral (
              select (bt_d.day + (bt_r.range ->> 0)::int * interval '1 minute') at time zone ${cal}.timezone as s,
                     (bt_d.day + (bt_r.range ->> 1)::int * interval '1 minute') at time zone ${cal}.timezone as e
            ) bt_iv
            where bt_d.day::date <> all (${cal}.holidays) and bt_iv.e > bt_iv.s and bt_iv.e > ${from} and bt_iv.s < ${to})
   end`;
}
