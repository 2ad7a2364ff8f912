import { useEffect, useState } from 'preact/hooks';

/**
 * Hash routing (`/#/schedules/3`): the server and CloudFront only ever serve `/` and `/console/`,
 * so no app path can shadow an API route (`/concerts`, `/orders`, …) and no rewrite rule is needed.
 */
export interface Route {
  /** Path segments after `#/`. */
  parts: string[];
  params: URLSearchParams;
}

export function currentRoute(): Route {
  const [path = '', search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return {
    parts: path.split('/').filter(Boolean).map(decodeURIComponent),
    params: new URLSearchParams(search),
  };
}

export function href(path: string): string {
  return `#${path.startsWith('/') ? path : `/${path}`}`;
}

export function navigate(path: string, options: { replace?: boolean } = {}): void {
  const target = href(path);
  if (options.replace) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
  dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    addEventListener('hashchange', update);
    addEventListener('popstate', update);
    // the hash may have changed between the first render and this effect (effects run after paint)
    update();
    return () => {
      removeEventListener('hashchange', update);
      removeEventListener('popstate', update);
    };
  }, []);
  return route;
}
