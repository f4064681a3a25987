/**
 * The design system's building blocks (styles in web-src/design.css): messages, loading and
 * empty states, labelled fields, and a hook that loads data with its three states.
 */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { messageOf } from './api.ts';

/** A message band: errors are announced at once (role alert), the rest politely (status). */
export function Banner(props: {
  kind?: 'error' | 'ok' | 'warn' | 'info';
  id?: string;
  children: ComponentChildren;
}): JSX.Element {
  const kind = props.kind ?? 'error';
  return (
    <div class={`banner ${kind}`} id={props.id} role={kind === 'error' ? 'alert' : 'status'}>
      {props.children}
    </div>
  );
}

/** A one-line inline message in the pages' older style (a paragraph with role alert/status). */
export function Message(props: { text: string; kind?: 'error' | 'ok' }): JSX.Element {
  const kind = props.kind ?? 'error';
  return (
    <p class={kind} role={kind === 'error' ? 'alert' : 'status'}>
      {props.text}
    </p>
  );
}

/** The loading state: a spinner and what is being loaded. */
export function Loading(props: { what?: string }): JSX.Element {
  return (
    <p class="loading" role="status">
      {props.what ?? 'Loading…'}
    </p>
  );
}

/** The empty state of a list: says there is nothing, and optionally what to do. */
export function Empty(props: { children: ComponentChildren; id?: string }): JSX.Element {
  return (
    <p class="empty" id={props.id}>
      {props.children}
    </p>
  );
}

/** A labelled form field: the label wraps the control, so it has an accessible name. */
export function Field(props: { label: string; children: ComponentChildren; hint?: string }): JSX.Element {
  return (
    <label class="field">
      <span>{props.label}</span>
      {props.children}
      {props.hint ? <small class="muted">{props.hint}</small> : null}
    </label>
  );
}

/** What {@link useLoad} returns: the data once loaded, the error if it failed, and a reload. */
export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads data once (and again on `reload()` or when `deps` change): loading, error and data
 * states for a page or section.
 */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[] = []): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (err: unknown) => live && setState({ error: messageOf(err), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [tick, ...deps]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** Renders a {@link Loaded}'s loading or error state, or `children(data)` once it is there. */
export function Async<T>(props: {
  loaded: Loaded<T>;
  what?: string;
  children: (data: T) => ComponentChildren;
}): JSX.Element {
  const { data, error } = props.loaded;
  if (error !== undefined && data === undefined) return <Banner>{error}</Banner>;
  if (data === undefined) return <Loading what={props.what} />;
  return <>{props.children(data)}</>;
}

/** What an action last reported: its "done" message, or the API's error; null for nothing. */
export type Status = { kind: 'ok' | 'error'; text: string } | null;

/**
 * Runs a section's actions (create, revoke, save…) and reports them: on success `done` (or
 * nothing, clearing an earlier error) and then `after()` (usually the section's `reload`);
 * on failure the API's message. One place for the try/report/reload every admin list repeats.
 */
export function useAct(after?: () => void): {
  status: Status;
  act: (fn: () => Promise<unknown>, done?: string) => Promise<void>;
  /** An action is running (for disabling its button). */
  busy: boolean;
} {
  const [status, setStatus] = useState<Status>(null);
  const [busy, setBusy] = useState(false);
  const act = async (fn: () => Promise<unknown>, done?: string) => {
    setBusy(true);
    try {
      await fn();
      setStatus(done ? { kind: 'ok', text: done } : null);
      after?.();
    } catch (err) {
      setStatus({ kind: 'error', text: messageOf(err) });
    } finally {
      setBusy(false);
    }
  };
  return { status, act, busy };
}

/** A {@link Status} as a banner (nothing when there is none). */
export function StatusBanner(props: { status: Status }): JSX.Element | null {
  return props.status ? <Banner kind={props.status.kind}>{props.status.text}</Banner> : null;
}

/** The header of a table's last column of row buttons: named for screen readers, blank on screen. */
export function ActionsHeader(): JSX.Element {
  return (
    <th>
      <span class="visually-hidden">Actions</span>
    </th>
  );
}

/**
 * A wide table's horizontal scroll box: focusable and named, so keyboard users can scroll it
 * too (axe-core's scrollable-region-focusable).
 */
export function TableScroll(props: { label: string; children: ComponentChildren }): JSX.Element {
  return (
    <div class="table-scroll" role="region" aria-label={props.label} tabIndex={0}>
      {props.children}
    </div>
  );
}

/** A page's heading with optional actions on the right (they wrap below it on a phone). */
export function PageHeader(props: { title: string; children?: ComponentChildren }): JSX.Element {
  return (
    <div class="page-head">
      <h1>{props.title}</h1>
      {props.children ? <div class="actions">{props.children}</div> : null}
    </div>
  );
}

/** One figure in a row of figures: label, value, and optionally what it is measured against. */
export function Stat(props: { label: string; value: string; limit?: string | undefined; id?: string }): JSX.Element {
  return (
    <div class="stat" id={props.id}>
      <div class="label">{props.label}</div>
      <div class="value">{props.value}</div>
      {props.limit ? <div class="limit">{props.limit}</div> : null}
    </div>
  );
}

/** A card: a titled surface grouping one task (a form, a list). */
export function Card(props: { title: string; id?: string; class?: string; children: ComponentChildren }): JSX.Element {
  const headingId = props.id ? `${props.id}-title` : undefined;
  return (
    <section class={`card ${props.class ?? ''}`} id={props.id} aria-labelledby={headingId}>
      <h2 id={headingId}>{props.title}</h2>
      {props.children}
    </section>
  );
}

/**
 * Runs `fn` every `ms` while `active`, and once when it becomes active: polling that stops
 * by itself (e.g. once an export is done).
 */
export function usePoll(fn: () => void, ms: number, active: boolean): void {
  useEffect(() => {
    if (!active) return;
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  }, [active, ms]);
}
